#!/bin/sh
# Run once by the `es-security` service of docker-compose.prod.yml (Elasticsearch image, as its
# uid 1000), after Elasticsearch is healthy and before Kibana starts. Idempotent:
#   - sets the password of the built-in `kibana_system` user (Kibana's own login);
#   - creates the role `akhbar_writer` (what the index worker needs, nothing more) and the user
#     `akhbar` holding it, with the password from AKHBAR_ES_WRITER_PASSWORD.
# Passwords come from the environment (.env); they are restricted to URL/JSON-safe characters so
# that they can be embedded below without quoting issues.
set -eu

ES=http://elasticsearch:9200

check() {  # name value
  case "$2" in
    "" ) echo "$1 is not set (.env)" >&2; exit 1 ;;
    *[!A-Za-z0-9._~-]* ) echo "$1 may only hold A-Z a-z 0-9 . _ ~ -" >&2; exit 1 ;;
  esac
  if [ "${#2}" -lt 12 ]; then echo "$1 must have at least 12 characters" >&2; exit 1; fi
}
check ELASTIC_PASSWORD "${ELASTIC_PASSWORD:-}"
check KIBANA_SYSTEM_PASSWORD "${KIBANA_SYSTEM_PASSWORD:-}"
check AKHBAR_ES_WRITER_PASSWORD "${AKHBAR_ES_WRITER_PASSWORD:-}"

call() {  # method path body
  curl -fsS -o /dev/null -u "elastic:${ELASTIC_PASSWORD}" -H 'Content-Type: application/json' \
    -X "$1" "${ES}$2" -d "$3"
}

call POST /_security/user/kibana_system/_password \
  "{\"password\":\"${KIBANA_SYSTEM_PASSWORD}\"}"

# The index worker: cluster health, the ILM policy and index template it (re)applies at start,
# and on the akhbar-articles indices only: manage (create the first index with its write alias),
# write (bulk) and read (the alias check and the lookup of the index a redelivered document
# already lives in).
call PUT /_security/role/akhbar_writer '{
  "cluster": ["monitor", "manage_ilm", "manage_index_templates"],
  "indices": [{"names": ["akhbar-articles*"],
               "privileges": ["manage", "read", "write"]}]
}'

call PUT /_security/user/akhbar \
  "{\"password\":\"${AKHBAR_ES_WRITER_PASSWORD}\",\"roles\":[\"akhbar_writer\"],\"full_name\":\"Akhbar index worker\"}"

echo "kibana_system password set; role akhbar_writer and user akhbar in place"
