package core

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gofka/gofka/wire"
)

// Tests against the secured listeners of a real Kafka started with
// KAFKA_SECURITY=1 scripts/kafka.sh up (its security.env exported). Without
// that environment they are skipped, unless GOFKA_REQUIRE_SECURITY=1 (the
// integration phase of scripts/run-tests.sh), where missing listeners are a
// failure.

type kafkaSecurityEnv struct {
	ssl, mtls, saslSSL, saslPlaintext, expired, badHost    string
	ca, otherCA, clientCert, clientKey, encKey, encKeyPass string
	plainUser, plainPass, scramUser, scramPass             string
}

func kafkaSecurity(t *testing.T) *kafkaSecurityEnv {
	t.Helper()
	e := &kafkaSecurityEnv{
		ssl: os.Getenv("GOFKA_SSL_BROKERS"), mtls: os.Getenv("GOFKA_MTLS_BROKERS"),
		saslSSL: os.Getenv("GOFKA_SASL_SSL_BROKERS"), saslPlaintext: os.Getenv("GOFKA_SASL_PLAINTEXT_BROKERS"),
		expired: os.Getenv("GOFKA_EXPIRED_CERT_BROKERS"), badHost: os.Getenv("GOFKA_BADHOST_CERT_BROKERS"),
		ca: os.Getenv("GOFKA_TEST_CA"), otherCA: os.Getenv("GOFKA_TEST_OTHER_CA"),
		clientCert: os.Getenv("GOFKA_TEST_CLIENT_CERT"), clientKey: os.Getenv("GOFKA_TEST_CLIENT_KEY"),
		encKey: os.Getenv("GOFKA_TEST_CLIENT_KEY_ENCRYPTED"), encKeyPass: os.Getenv("GOFKA_TEST_CLIENT_KEY_PASSWORD"),
		plainUser: os.Getenv("GOFKA_TEST_PLAIN_USER"), plainPass: os.Getenv("GOFKA_TEST_PLAIN_PASSWORD"),
		scramUser: os.Getenv("GOFKA_TEST_SCRAM_USER"), scramPass: os.Getenv("GOFKA_TEST_SCRAM_PASSWORD"),
	}
	for _, v := range []string{e.ssl, e.mtls, e.saslSSL, e.saslPlaintext, e.expired, e.badHost, e.ca, e.otherCA,
		e.clientCert, e.clientKey, e.encKey, e.encKeyPass, e.plainUser, e.plainPass, e.scramUser, e.scramPass} {
		if v == "" {
			if os.Getenv("GOFKA_REQUIRE_SECURITY") == "1" {
				t.Fatal("GOFKA_REQUIRE_SECURITY=1 but the secured listeners' environment is incomplete: source $KAFKA_WORKDIR/security.env of a KAFKA_SECURITY=1 scripts/kafka.sh up")
			}
			t.Skip("no secured Kafka: run KAFKA_SECURITY=1 scripts/kafka.sh up and source its security.env")
		}
	}
	return e
}

// unsecuredJWT is a token for Kafka's unsecured OAUTHBEARER validator.
func unsecuredJWT(sub string, exp time.Time) string {
	enc := base64.RawURLEncoding
	h, _ := json.Marshal(map[string]any{"alg": "none"})
	c, _ := json.Marshal(map[string]any{"sub": sub, "iat": time.Now().Unix(), "exp": exp.Unix()})
	return enc.EncodeToString(h) + "." + enc.EncodeToString(c) + "."
}

func TestKafkaSecuredListeners(t *testing.T) {
	e := kafkaSecurity(t)
	ok := map[string]map[string]string{
		"SSL":  {"bootstrap.servers": e.ssl, "security.protocol": "SSL", "ssl.ca.location": e.ca},
		"mTLS": {"bootstrap.servers": e.mtls, "security.protocol": "SSL", "ssl.ca.location": e.ca, "ssl.certificate.location": e.clientCert, "ssl.key.location": e.clientKey},
		"mTLS encrypted key": {"bootstrap.servers": e.mtls, "security.protocol": "SSL", "ssl.ca.location": e.ca,
			"ssl.certificate.location": e.clientCert, "ssl.key.location": e.encKey, "ssl.key.password": e.encKeyPass},
		"SASL_SSL PLAIN": {"bootstrap.servers": e.saslSSL, "security.protocol": "SASL_SSL", "ssl.ca.location": e.ca,
			"sasl.mechanism": "PLAIN", "sasl.username": e.plainUser, "sasl.password": e.plainPass},
		"SASL_SSL SCRAM-SHA-256": {"bootstrap.servers": e.saslSSL, "security.protocol": "SASL_SSL", "ssl.ca.location": e.ca,
			"sasl.mechanism": "SCRAM-SHA-256", "sasl.username": e.scramUser, "sasl.password": e.scramPass},
		"SASL_SSL SCRAM-SHA-512": {"bootstrap.servers": e.saslSSL, "security.protocol": "SASL_SSL", "ssl.ca.location": e.ca,
			"sasl.mechanism": "SCRAM-SHA-512", "sasl.username": e.scramUser, "sasl.password": e.scramPass},
		"SASL_SSL OAUTHBEARER": {"bootstrap.servers": e.saslSSL, "security.protocol": "SASL_SSL", "ssl.ca.location": e.ca,
			"sasl.mechanism": "OAUTHBEARER", "sasl.oauthbearer.token": unsecuredJWT("gofka-oauth", time.Now().Add(time.Hour))},
		"SASL_PLAINTEXT SCRAM-SHA-512": {"bootstrap.servers": e.saslPlaintext, "security.protocol": "SASL_PLAINTEXT",
			"sasl.mechanism": "SCRAM-SHA-512", "sasl.username": e.scramUser, "sasl.password": e.scramPass},
	}
	for name, props := range ok {
		t.Run(name, func(t *testing.T) {
			cl, err := newTestClient(t, props)
			require.NoError(t, err)
			produceAndFetch(t, cl)
		})
	}
}

func TestKafkaSecurityFailures(t *testing.T) {
	e := kafkaSecurity(t)
	cases := []struct {
		name  string
		props map[string]string
		code  wire.ErrorCode
		hint  string
	}{
		{"wrong CA", map[string]string{"bootstrap.servers": e.ssl, "security.protocol": "SSL", "ssl.ca.location": e.otherCA}, wire.ErrTLSFailed, "ssl.ca.location"},
		{"expired certificate", map[string]string{"bootstrap.servers": e.expired, "security.protocol": "SSL", "ssl.ca.location": e.ca}, wire.ErrTLSFailed, "expired"},
		{"hostname mismatch", map[string]string{"bootstrap.servers": e.badHost, "security.protocol": "SSL", "ssl.ca.location": e.ca}, wire.ErrTLSFailed, "not valid for"},
		{"mTLS without certificate", map[string]string{"bootstrap.servers": e.mtls, "security.protocol": "SSL", "ssl.ca.location": e.ca}, wire.ErrTLSFailed, "certificate"},
		{"wrong PLAIN password", map[string]string{"bootstrap.servers": e.saslSSL, "security.protocol": "SASL_SSL", "ssl.ca.location": e.ca,
			"sasl.mechanism": "PLAIN", "sasl.username": e.plainUser, "sasl.password": "Wrong-Pass-0815"}, wire.ErrSaslAuthenticationFailed, "PLAIN"},
		{"wrong SCRAM password", map[string]string{"bootstrap.servers": e.saslSSL, "security.protocol": "SASL_SSL", "ssl.ca.location": e.ca,
			"sasl.mechanism": "SCRAM-SHA-256", "sasl.username": e.scramUser, "sasl.password": "Wrong-Pass-0815"}, wire.ErrSaslAuthenticationFailed, "SCRAM-SHA-256"},
		{"unknown SCRAM user", map[string]string{"bootstrap.servers": e.saslSSL, "security.protocol": "SASL_SSL", "ssl.ca.location": e.ca,
			"sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "nobody", "sasl.password": "Wrong-Pass-0815"}, wire.ErrSaslAuthenticationFailed, "SCRAM-SHA-512"},
		{"expired OAUTHBEARER token", map[string]string{"bootstrap.servers": e.saslSSL, "security.protocol": "SASL_SSL", "ssl.ca.location": e.ca,
			"sasl.mechanism": "OAUTHBEARER", "sasl.oauthbearer.token": unsecuredJWT("gofka-oauth", time.Now().Add(-time.Hour))}, wire.ErrSaslAuthenticationFailed, "OAUTHBEARER"},
		{"SASL on an SSL listener", map[string]string{"bootstrap.servers": e.ssl, "security.protocol": "SASL_SSL", "ssl.ca.location": e.ca,
			"sasl.mechanism": "PLAIN", "sasl.username": e.plainUser, "sasl.password": "Wrong-Pass-0815"}, wire.ErrIllegalSaslState, "security.protocol"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cl, err := newTestClient(t, tc.props)
			require.NoError(t, err)
			start := time.Now()
			err = cl.Connect(context.Background())
			t.Log(err)
			requireCode(t, err, tc.code)
			require.Contains(t, err.Error(), tc.hint)
			require.NotContains(t, err.Error(), "Wrong-Pass-0815")
			require.Less(t, time.Since(start), 4*time.Second, "not retried until the timeout")
			require.False(t, wire.CodeOf(err).Retriable())
		})
	}
}

func TestKafkaAdminScramCredentials(t *testing.T) {
	e := kafkaSecurity(t)
	props := func(mech, user, pass string) map[string]string {
		return map[string]string{"bootstrap.servers": e.saslSSL, "security.protocol": "SASL_SSL", "ssl.ca.location": e.ca,
			"sasl.mechanism": mech, "sasl.username": user, "sasl.password": pass}
	}
	testAdminScram(t, props, e.scramUser, e.scramPass, 8192)
}
