#!/bin/sh
# SPDX-License-Identifier: MIT
# The walk-through as admin and as app, twice each (idempotent), and proof that it fails when a
# read does not return what was written.
. "$(dirname "$0")/lib.sh"
endpoint_start
log=$ENDPOINT_DIR/walk.out

for role in admin app; do
    schema=public
    [ "$role" = app ] && schema=myschema
    # The first run creates the schema, the second finds it: once through each way of
    # putting dsqlauth under the program.
    for how in wrapped preload; do
        if petclinic "$role" "$how" >"$log" 2>&1; then
            ok "walk-through as $role ($how) exits 0"
        else
            not_ok "walk-through as $role ($how) exits 0"
            diag "$(cat "$log")"
        fi
        is "as $role ($how): passed in schema $schema" \
            "$(tail -n 1 "$log" | sed 's/:.*//')" "Walk-through passed as $role in schema $schema"
    done
    is "as $role: connected over TLS to the endpoint's name" \
        "$(head -n 1 "$log" | grep -c "connected to $CLUSTER_ENDPOINT as $role, schema $schema, TLS TLSv1")" 1
    is "as $role: every checked step says ok" "$(grep -c ' ok$' "$log")" 11
    is "as $role: the run removed its own rows" \
        "$(backend_sql "SELECT (SELECT count(*) FROM $schema.owner) + (SELECT count(*) FROM $schema.pet)
                        + (SELECT count(*) FROM $schema.vet) + (SELECT count(*) FROM $schema.\"vetSpecialties\")")" 0
    is "as $role: specialties stay, once each" \
        "$(backend_sql "SELECT string_agg(name, ',' ORDER BY name) FROM $schema.specialty")" "Cats,Dogs"
done

is "the tables have the seed's columns, types and lengths" \
    "$(backend_sql "SELECT string_agg(table_name || '.' || column_name || ':' || data_type
                        || coalesce('(' || character_maximum_length || ')', '')
                        || CASE WHEN is_nullable = 'NO' THEN '!' ELSE '' END
                        || coalesce('=' || column_default, ''), ' ' ORDER BY table_name, ordinal_position)
                    FROM information_schema.columns WHERE table_schema = 'myschema'")" \
    "owner.id:uuid!=gen_random_uuid() owner.name:character varying(30)! owner.city:character varying(80)! owner.telephone:character varying(20) pet.id:uuid!=gen_random_uuid() pet.name:character varying(30)! pet.birth_date:date! pet.owner_id:uuid specialty.name:character varying(80)! vet.id:uuid!=gen_random_uuid() vet.name:character varying(30)! vetSpecialties.id:uuid!=gen_random_uuid() vetSpecialties.vet_id:uuid vetSpecialties.specialty_id:character varying(80)"

# A server that stores something else than it was given (here a trigger shifts every pet's
# birth date) must make the walk-through fail, loudly, with a non-zero exit.
backend_sql "CREATE FUNCTION public.shift_birth() RETURNS trigger LANGUAGE plpgsql AS
             \$\$ BEGIN NEW.birth_date := NEW.birth_date + 1; RETURN NEW; END \$\$;
             CREATE TRIGGER shift BEFORE INSERT ON public.pet FOR EACH ROW EXECUTE FUNCTION public.shift_birth();"
petclinic admin wrapped -q >"$log" 2>&1
is "a read that differs from the write exits 1" "$?" 1
if grep -q 'Pet-1 birth date: expected "2006-10-25", got "2006-10-26"' "$log"; then
    ok "and says which value differed"
else
    not_ok "and says which value differed"; diag "$(cat "$log")"
fi
backend_sql "DROP TRIGGER shift ON public.pet"
is "the failed run cleaned up after itself" \
    "$(backend_sql "SELECT count(*) FROM public.owner")" 0

env -u CLUSTER_ENDPOINT -u PGHOST "$PETCLINIC" >"$log" 2>&1
is "no endpoint at all is a usage error (2)" "$?" 2
"$PETCLINIC" --clients=0 >"$log" 2>&1
is "a bad option value is a usage error (2)" "$?" 2
check "--help" "$PETCLINIC" --help
check "--version" "$PETCLINIC" --version

done_testing
