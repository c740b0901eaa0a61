#!/bin/sh
# tls-certs.sh DIR -- make the certificates the TLS tests use, with certtool,
# into DIR (which must exist).  ECDSA P-256 keys: fast to make and to use.
# Leaf certificates share one key; what differs is what the tests look at.
#
#   ca.pem             the test root CA (trusted by the tests)
#   server.pem         localhost + 127.0.0.1, server purpose, signed by ca
#   client.pem         a client certificate signed by ca
#   expired.pem        validity in 2019
#   notyet.pem         valid from 2090
#   wronghost.pem      for www.example.org only
#   selfsigned.pem     self-signed for localhost
#   untrusted.pem      signed by another root (other-ca.pem, not trusted)
#   leaf-of-inter.pem  signed by an intermediate (inter.pem); chain.pem is
#                      leaf + intermediate, so only chain.pem verifies
#   revoked.pem        signed by ca and revoked in crl.pem
#   sha1.pem           signed by ca with ECDSA-SHA1
#   clientonly.pem     signed by ca with the client purpose only
#   b-ca.pem           a second root, with a key of its own (b-ca-key.pem)
#   a-test.pem         for a.test only, signed by ca
#   b-test.pem         for b.test only, signed by b-ca
#   ip.pem             IP addresses 127.0.0.1 and ::1 only (no DNS name)
#   otherip.pem        IP address 192.0.2.7 and localhost only
#   key.pem            the key of all leaves; ca-key.pem the other CAs' key
set -e
dir=$1
cd "$dir"
# Without LD_PRELOAD: a sanitizer runtime preloaded for the tests (see
# issue 9) makes certtool hang.
ct () { env -u LD_PRELOAD certtool "$@" >/dev/null 2>&1; }

ct --generate-privkey --key-type=ecdsa --curve=secp256r1 --outfile ca-key.pem
ct --generate-privkey --key-type=ecdsa --curve=secp256r1 --outfile key.pem

cat > ca.tmpl <<EOF
cn = "Guile-Net Test CA"
ca
cert_signing_key
crl_signing_key
expiration_days = 30
EOF
ct --generate-self-signed --load-privkey ca-key.pem --template ca.tmpl \
   --outfile ca.pem
sed 's/Test CA/Other CA/' ca.tmpl > other-ca.tmpl
ct --generate-self-signed --load-privkey ca-key.pem --template other-ca.tmpl \
   --outfile other-ca.pem
sed 's/Test CA/Intermediate CA/' ca.tmpl > inter.tmpl
ct --generate-certificate --load-privkey ca-key.pem --load-ca-certificate ca.pem \
   --load-ca-privkey ca-key.pem --template inter.tmpl --outfile inter.pem
ct --generate-privkey --key-type=ecdsa --curve=secp256r1 --outfile b-ca-key.pem
sed 's/Test CA/B Root CA/' ca.tmpl > b-ca.tmpl
ct --generate-self-signed --load-privkey b-ca-key.pem --template b-ca.tmpl \
   --outfile b-ca.pem

# leaf NAME SIGNER-CERT TEMPLATE-LINES... -- make NAME.pem (the signer's
# key is ca-key.pem, or $SIGNER_KEY)
leaf () {
  name=$1; signer=$2; shift 2
  printf '%s\n' "$@" > "$name.tmpl"
  ct --generate-certificate --load-privkey key.pem \
     --load-ca-certificate "$signer" --load-ca-privkey "${SIGNER_KEY:-ca-key.pem}" \
     --template "$name.tmpl" --outfile "$name.pem" $LEAF_OPTS
}
good='cn = "localhost"
dns_name = "localhost"
ip_address = "127.0.0.1"
tls_www_server
signing_key
expiration_days = 30'

leaf server ca.pem "$good"
leaf client ca.pem 'cn = "Test Client"' tls_www_client signing_key \
     'expiration_days = 30'
leaf expired ca.pem 'cn = "localhost"' 'dns_name = "localhost"' \
     tls_www_server signing_key \
     'activation_date = "2019-01-01 00:00:00"' \
     'expiration_date = "2019-12-31 00:00:00"'
leaf notyet ca.pem 'cn = "localhost"' 'dns_name = "localhost"' \
     tls_www_server signing_key \
     'activation_date = "2090-01-01 00:00:00"' \
     'expiration_date = "2091-01-01 00:00:00"'
leaf wronghost ca.pem 'cn = "www.example.org"' 'dns_name = "www.example.org"' \
     tls_www_server signing_key 'expiration_days = 30'
leaf untrusted other-ca.pem "$good"
leaf leaf-of-inter inter.pem "$good"
cat leaf-of-inter.pem inter.pem > chain.pem
leaf revoked ca.pem "$good" 'serial = 4242'
leaf clientonly ca.pem 'cn = "localhost"' 'dns_name = "localhost"' \
     tls_www_client signing_key 'expiration_days = 30'
LEAF_OPTS="--hash SHA1" leaf sha1 ca.pem "$good"
leaf a-test ca.pem 'cn = "a.test"' 'dns_name = "a.test"' tls_www_server \
     signing_key 'expiration_days = 30'
SIGNER_KEY=b-ca-key.pem leaf b-test b-ca.pem 'cn = "b.test"' \
     'dns_name = "b.test"' tls_www_server signing_key 'expiration_days = 30'
leaf ip ca.pem 'cn = "numeric"' 'ip_address = "127.0.0.1"' 'ip_address = "::1"' \
     tls_www_server signing_key 'expiration_days = 30'
leaf otherip ca.pem 'cn = "localhost"' 'dns_name = "localhost"' \
     'ip_address = "192.0.2.7"' tls_www_server signing_key 'expiration_days = 30'
printf '%s\n' "$good" > selfsigned.tmpl
ct --generate-self-signed --load-privkey key.pem --template selfsigned.tmpl \
   --outfile selfsigned.pem

printf 'crl_next_update = 30\ncrl_number = 1\n' > crl.tmpl
ct --generate-crl --load-ca-privkey ca-key.pem --load-ca-certificate ca.pem \
   --load-certificate revoked.pem --template crl.tmpl --outfile crl.pem
rm -f ./*.tmpl
