#!/bin/sh
# burrow --acme-dns-hook for Amazon Route 53: sets and clears the _acme-challenge TXT record of a
# wildcard certificate (DNS-01). burrow runs it as `route53.sh set|clear RECORD VALUE`.
#
#   export R53_ZONE_ID=Z0123456789ABCDEFGHIJ   # the hosted zone's id
#   # credentials as the aws CLI finds them (an instance role, AWS_PROFILE, …) with
#   # route53:ChangeResourceRecordSets and route53:GetChange on that zone
#   burrow server --domain example.com --port 443 --acme --acme-email ops@example.com \
#     --acme-dns-hook /etc/burrow/route53.sh
#
# Needs the aws CLI (v2).
set -eu
action=$1 record=$2 value=$3
zone=${R53_ZONE_ID:?set R53_ZONE_ID}

change() {
  aws route53 change-resource-record-sets --hosted-zone-id "$zone" --query ChangeInfo.Id --output text \
    --change-batch "{\"Changes\":[{\"Action\":\"$1\",\"ResourceRecordSet\":{\"Name\":\"$record\",\"Type\":\"TXT\",\"TTL\":60,\"ResourceRecords\":[{\"Value\":\"\\\"$value\\\"\"}]}}]}"
}

case "$action" in
  set)
    id=$(change UPSERT)
    # Route 53 says when every one of its name servers answers with the change
    aws route53 wait resource-record-sets-changed --id "$id"
    ;;
  clear)
    change DELETE >/dev/null
    ;;
  *)
    echo "usage: $0 set|clear RECORD VALUE" >&2
    exit 2
    ;;
esac
