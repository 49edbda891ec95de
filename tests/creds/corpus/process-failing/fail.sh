#!/bin/sh
echo 'token expired: run login' >&2
exit 3
