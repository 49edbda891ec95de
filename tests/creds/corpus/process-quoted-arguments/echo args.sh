#!/bin/sh
[ "$#" = 3 ] && [ "$1" = 'two words' ] && [ "$2" = '$(touch @DIR@/pwned)' ] && [ "$3" = ';x' ] || exit 7
printf '{"Version": 1, "AccessKeyId": "AKIDQUOTED", "SecretAccessKey": "s"}'
