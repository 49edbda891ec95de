#!/bin/sh
# SPDX-License-Identifier: MIT
# As the non-admin role the demo creates nothing in public: all of it lands in myschema.
. "$(dirname "$0")/lib.sh"
endpoint_start

objects() {
    backend_sql "SELECT coalesce(string_agg(c.relname || ':' || c.relkind::text, ' ' ORDER BY c.relname), '')
                 FROM pg_class c WHERE c.relnamespace = '$1'::regnamespace"
}
before=$(objects public)
check "walk-through as app (link-time wrapper)" petclinic app wrapped -q
check "walk-through as app (dsqlauth-run)" petclinic app preload -q
check "workload as app" petclinic app wrapped --workload -c 2 -t 100 -P 0
is "nothing new in public" "$(objects public)" "$before"
is "the tables, their keys and indexes are in myschema" "$(objects myschema)" \
    "owner:r owner_pkey:i pet:r pet_owner_id_idx:i pet_pkey:i specialty:r specialty_pkey:i vet:r vetSpecialties:r vetSpecialties_pkey:i vetSpecialties_vet_id_idx:i vet_pkey:i"
is "app owns them" "$(backend_sql "SELECT string_agg(DISTINCT tableowner, ',') FROM pg_tables WHERE schemaname = 'myschema'")" app

done_testing
