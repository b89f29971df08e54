#!/bin/sh
# burrow --acme-dns-hook for Cloudflare DNS: sets and clears the _acme-challenge TXT record of a
# wildcard certificate (DNS-01). burrow runs it as `cloudflare.sh set|clear RECORD VALUE`.
#
#   export CF_API_TOKEN=...   # an API token with Zone.DNS:Edit on the zone
#   export CF_ZONE_ID=...     # the zone's id (Cloudflare dashboard → the domain → Overview)
#   burrow server --domain example.com --port 443 --acme --acme-email ops@example.com \
#     --acme-dns-hook /etc/burrow/cloudflare.sh
#
# Needs curl, jq and dig (Debian: curl jq dnsutils).
set -eu
action=$1 record=$2 value=$3
api="https://api.cloudflare.com/client/v4/zones/${CF_ZONE_ID:?set CF_ZONE_ID}/dns_records"
auth="Authorization: Bearer ${CF_API_TOKEN:?set CF_API_TOKEN}"

case "$action" in
  set)
    curl -fsS -X POST "$api" -H "$auth" -H 'Content-Type: application/json' \
      --data "{\"type\":\"TXT\",\"name\":\"$record\",\"content\":\"$value\",\"ttl\":60}" >/dev/null
    # return only once the record is visible: the CA looks right after
    i=0
    until dig +short TXT "$record" @1.1.1.1 | grep -q -- "$value"; do
      i=$((i + 1))
      [ "$i" -le 60 ] || { echo "the TXT record for $record did not appear within 120 s" >&2; exit 1; }
      sleep 2
    done
    ;;
  clear)
    for id in $(curl -fsS -G "$api" -H "$auth" --data-urlencode type=TXT --data-urlencode "name=$record" \
      --data-urlencode "content=$value" | jq -r '.result[].id'); do
      curl -fsS -X DELETE "$api/$id" -H "$auth" >/dev/null
    done
    ;;
  *)
    echo "usage: $0 set|clear RECORD VALUE" >&2
    exit 2
    ;;
esac
