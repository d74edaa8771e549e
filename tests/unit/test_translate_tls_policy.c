/* tests/unit/test_translate_tls_policy.c - statuses and IR of client
 * certificate validation (Gateway spec.tls.frontend), the Gateway backend
 * client certificate (spec.tls.backend) and BackendTLSPolicy
 * (userspace/translate/policy_tls.c), on the upstream v1.6.1 conformance
 * manifests plus the ConfigMaps the Go suite creates at run time. */
#include "gwbpf/api.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>

#include <cmocka.h>

#include "translate_helpers.h"

/* the GatewayClass, the base manifests (conf_load_manifest() in
 * translate_helpers.h) and the Secrets the suite creates */
static void tp_setup_base(struct fx *f)
{
	static const char *const secrets[][2] = {
		{ WEB, "certificate" },
		{ INFRA, "tls-validity-checks-certificate" },
		{ INFRA, "tls-checks-certificate" },
	};

	fx_load(f, CLASS_YAML);
	conf_load_manifest(f, "base");
	for (size_t i = 0; i < ARRAY_SIZE(secrets); i++) {
		char *s = tls_secret_yaml(secrets[i][0], secrets[i][1]);

		fx_load(f, s);
		free(s);
	}
}

/* a fresh self-signed CA certificate, PEM (malloc'd) */
static char *ca_pem(void)
{
	EVP_PKEY *k;
	X509 *x = fx_selfsigned("test CA", 7, &k);
	char *out = fx_x509_pem(x);

	X509_free(x);
	EVP_PKEY_free(k);
	return out;
}

/* a ConfigMap ns/name with ca.crt = pem */
static void load_ca_configmap(struct fx *f, const char *ns, const char *name, const char *pem)
{
	char *y = fx_ca_configmap_yaml(ns, name, pem);

	fx_load(f, y);
	free(y);
}

/* base + manifest + the CA ConfigMaps the suite creates */
static void run_tls(struct fx *f, const char *manifest)
{
	struct gw_translate_opts o = { .now = 1700000000, .address_pool = "127.10.0.0/16" };
	static const char *const cms[] = { "tls-checks-ca-certificate",
					   "tls-validity-checks-ca-certificate",
					   "tls-validity-checks-per-port-ca-certificate",
					   "mismatch-ca-certificate" };
	char *pem = ca_pem(), *s;

	tp_setup_base(f);
	for (size_t i = 0; i < ARRAY_SIZE(cms); i++)
		load_ca_configmap(f, INFRA, cms[i], pem);
	/* a CA in another namespace, for the missing-ReferenceGrant case */
	load_ca_configmap(f, WEB, "web-backend-cm", pem);
	s = tls_secret_yaml(INFRA, "tls-checks-client-certificate");
	fx_load(f, s);
	free(s);
	free(pem);
	conf_load_manifest(f, manifest);
	fx_run_opts(f, &o);
}

static json_t *lconds(struct fx *f, const char *gw, const char *listener)
{
	return json_object_get(gw_listener(f, "Gateway", INFRA, gw, listener), "conditions");
}

static const struct gw_ir_listener *ir_listener(struct fx *f, const char *gw, const char *name)
{
	char key[256];

	snprintf(key, sizeof(key), "%s/%s", INFRA, gw);
	for (size_t i = 0; i < f->t->ir->n_binds; i++)
		for (size_t k = 0; k < f->t->ir->binds[i].n_listeners; k++) {
			const struct gw_ir_listener *l = &f->t->ir->binds[i].listeners[k];

			if (!strcmp(l->gateway, key) && !strcmp(l->name, name))
				return l;
		}
	return NULL;
}

static const struct gw_ir_cluster *ir_cluster(struct fx *f, const char *svc, int port)
{
	char key[256];

	snprintf(key, sizeof(key), "%s/%s:%d", INFRA, svc, port);
	for (size_t i = 0; i < f->t->ir->n_clusters; i++)
		if (!strcmp(f->t->ir->clusters[i].name, key))
			return &f->t->ir->clusters[i];
	fail_msg("no cluster %s", key);
	return NULL;
}

/* the conditions of BackendTLSPolicy name for ancestor Gateway gw */
static json_t *policy_conds(struct fx *f, const char *name, const char *gw)
{
	json_t *anc = json_object_get(fx_status(f, "BackendTLSPolicy", INFRA, name), "ancestors");

	for (size_t i = 0; i < json_array_size(anc); i++) {
		json_t *a = json_array_get(anc, i), *ref = json_object_get(a, "ancestorRef");

		if (strcmp(json_string_value(json_object_get(ref, "name")), gw))
			continue;
		assert_string_equal(json_string_value(json_object_get(ref, "kind")), "Gateway");
		assert_string_equal(json_string_value(json_object_get(ref, "namespace")), INFRA);
		assert_string_equal(json_string_value(json_object_get(a, "controllerName")),
				    "gwbpf.dev/gateway-controller");
		return json_object_get(a, "conditions");
	}
	fail_msg("BackendTLSPolicy %s has no ancestor %s", name, gw);
	return NULL;
}

static void test_client_cert_validation(void **state)
{
	struct fx f = { 0 };
	const struct gw_ir_listener *l;

	run_tls(&f, "gateway-with-clientcertificate-validation");
	for (int i = 0; i < 2; i++) {
		const char *ln = i ? "https-with-hostname" : "https";

		assert_cond(lconds(&f, "client-validation-default", ln), "Accepted", "True",
			    "Accepted");
		assert_cond(lconds(&f, "client-validation-default", ln), "ResolvedRefs", "True",
			    "ResolvedRefs");
		assert_cond(lconds(&f, "client-validation-default", ln), "Programmed", "True",
			    "Programmed");
		l = ir_listener(&f, "client-validation-default", ln);
		assert_non_null(l);
		assert_int_equal(l->client_verify, GW_CLIENT_VERIFY_REQUIRE);
		assert_non_null(l->client_ca_pem);
		assert_non_null(strstr(l->client_ca_pem, "BEGIN CERTIFICATE"));
	}
	assert_true(fx_obj(&f, "Gateway", INFRA, "client-validation-default")->ok);
	assert_null(find_cond(gw_conds(&f, INFRA, "client-validation-default"),
			      "InsecureFrontendValidationMode"));
	fx_free(&f);
}

static void test_client_cert_insecure_fallback(void **state)
{
	struct fx f = { 0 };
	const struct gw_ir_listener *l;

	run_tls(&f, "gateway-with-clientcertificate-validation-insecure-fallback");
	assert_cond(gw_conds(&f, INFRA, "client-validation-insecure-fallback"),
		    "InsecureFrontendValidationMode", "True", "ConfigurationChanged");
	l = ir_listener(&f, "client-validation-insecure-fallback", "https");
	assert_non_null(l);
	assert_int_equal(l->client_verify, GW_CLIENT_VERIFY_OPTIONAL);
	l = ir_listener(&f, "client-validation-insecure-fallback", "https-with-hostname");
	assert_non_null(l);
	assert_int_equal(l->client_verify, GW_CLIENT_VERIFY_OPTIONAL);
	fx_free(&f);
}

static void test_client_cert_invalid_refs(void **state)
{
	struct fx f = { 0 };
	static const char *const gw = "gateway-with-invalid-client-cert-validation";
	static const struct {
		const char *listener, *reason;
	} bad[] = {
		{ "https-unresolved", "InvalidCACertificateRef" },
		{ "https-invalid-kind", "InvalidCACertificateKind" },
		{ "https-grant-missing", "RefNotPermitted" },
	};

	run_tls(&f, "gateway-with-invalid-clientcertificate-validation");
	assert_cond(lconds(&f, gw, "https"), "Accepted", "True", "Accepted");
	assert_cond(lconds(&f, gw, "https"), "ResolvedRefs", "True", "ResolvedRefs");
	assert_non_null(ir_listener(&f, gw, "https"));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		json_t *c = lconds(&f, gw, bad[i].listener);

		assert_cond(c, "ResolvedRefs", "False", bad[i].reason);
		assert_cond(c, "Accepted", "False", "NoValidCACertificate");
		assert_cond(c, "Programmed", "False", "Invalid");
		/* never served without the validation it asked for */
		assert_null(ir_listener(&f, gw, bad[i].listener));
	}
	assert_false(fx_obj(&f, "Gateway", INFRA, gw)->ok);
	fx_free(&f);
}

static void test_client_cert_invalid_default(void **state)
{
	struct fx f = { 0 };
	static const char *const gw = "invalid-default-client-validation-config";

	run_tls(&f, "gateway-invalid-default-frontend-client-certificate-validation");
	assert_cond(lconds(&f, gw, "https"), "ResolvedRefs", "False", "InvalidCACertificateRef");
	assert_cond(lconds(&f, gw, "https"), "Accepted", "False", "NoValidCACertificate");
	assert_cond(lconds(&f, gw, "https"), "Programmed", "False", "Invalid");
	/* perPort 80 names an HTTP listener: validation is for HTTPS only */
	assert_cond(lconds(&f, gw, "http"), "Accepted", "True", "Accepted");
	assert_cond(lconds(&f, gw, "http"), "Programmed", "True", "Programmed");
	assert_int_equal(ir_listener(&f, gw, "http")->client_verify, GW_CLIENT_VERIFY_NONE);
	fx_free(&f);
}

static void test_backend_tls_policy(void **state)
{
	struct fx f = { 0 };
	const struct gw_ir_cluster *cl;

	run_tls(&f, "backendtlspolicy");
	assert_cond(policy_conds(&f, "normative-test", "same-namespace"), "Accepted", "True",
		    "Accepted");
	assert_cond(policy_conds(&f, "normative-test", "same-namespace"), "ResolvedRefs", "True",
		    "ResolvedRefs");
	/* two Gateways send to backendtlspolicy-test: two ancestors */
	assert_cond(policy_conds(&f, "normative-test", "same-namespace-with-https-listener"),
		    "Accepted", "True", "Accepted");
	assert_int_equal(json_array_size(json_object_get(
				 fx_status(&f, "BackendTLSPolicy", INFRA, "normative-test"), "ancestors")),
			 2);
	assert_true(fx_obj(&f, "BackendTLSPolicy", INFRA, "normative-test")->ok);
	cl = ir_cluster(&f, "backendtlspolicy-test", 443);
	assert_non_null(cl->tls);
	assert_false(cl->tls->invalid);
	assert_string_equal(cl->tls->sni, "abc.example.com");
	assert_non_null(strstr(cl->tls->ca_pem, "BEGIN CERTIFICATE"));
	assert_string_equal(cl->tls->policy, INFRA "/normative-test");
	cl = ir_cluster(&f, "backendtlspolicy-host-mismatch-test", 443);
	assert_string_equal(cl->tls->sni, "mismatch.example.com");
	fx_free(&f);
}

static void test_backend_tls_policy_san(void **state)
{
	struct fx f = { 0 };
	const struct gw_ir_cluster *cl;

	run_tls(&f, "backendtlspolicy-san");
	cl = ir_cluster(&f, "backendtlspolicy-san-dns-test", 443);
	assert_int_equal(cl->tls->n_san_dns, 1);
	assert_string_equal(cl->tls->san_dns[0], "abc.example.com");
	assert_int_equal(cl->tls->n_san_uri, 0);
	cl = ir_cluster(&f, "backendtlspolicy-multiple-mismatch-sans-test", 443);
	assert_int_equal(cl->tls->n_san_dns, 1);
	assert_string_equal(cl->tls->san_dns[0], "def.example.com");
	assert_int_equal(cl->tls->n_san_uri, 1);
	assert_string_equal(cl->tls->san_uri[0], "spiffe://def.example.com/test-identity");
	assert_cond(policy_conds(&f, "san-uri", "same-namespace"), "Accepted", "True", "Accepted");
	fx_free(&f);
}

static void test_backend_tls_policy_invalid_ca(void **state)
{
	struct fx f = { 0 };
	static const char *const pols[][2] = {
		{ "nonexistent-ca-certificate-ref", "backendtlspolicy-nonexistent-ca-certificate-ref-test" },
		{ "malformed-ca-certificate-ref", "backendtlspolicy-malformed-ca-certificate-ref-test" },
	};

	run_tls(&f, "backendtlspolicy-invalid-ca-certificate-ref");
	for (size_t i = 0; i < ARRAY_SIZE(pols); i++) {
		json_t *c = policy_conds(&f, pols[i][0], "same-namespace");

		assert_cond(c, "ResolvedRefs", "False", "InvalidCACertificateRef");
		assert_cond(c, "Accepted", "False", "NoValidCACertificate");
		assert_false(fx_obj(&f, "BackendTLSPolicy", INFRA, pols[i][0])->ok);
		/* requests must fail with 5xx, never go out in plaintext */
		assert_true(ir_cluster(&f, pols[i][1], 443)->tls->invalid);
	}
	fx_free(&f);
}

static void test_backend_tls_policy_invalid_kind(void **state)
{
	struct fx f = { 0 };
	json_t *c;

	run_tls(&f, "backendtlspolicy-invalid-kind");
	c = policy_conds(&f, "invalid-kind", "same-namespace");
	assert_cond(c, "ResolvedRefs", "False", "InvalidKind");
	assert_cond(c, "Accepted", "False", "NoValidCACertificate");
	assert_true(ir_cluster(&f, "backendtlspolicy-invalid-kind-test", 443)->tls->invalid);
	fx_free(&f);
}

static void test_backend_tls_policy_conflicts(void **state)
{
	struct fx f = { 0 };

	/* same creationTimestamp: namespace/name order decides */
	run_tls(&f, "backendtlspolicy-conflict-resolution");
	assert_cond(policy_conds(&f, "conflicted-without-section-name-1", "same-namespace"),
		    "Accepted", "True", "Accepted");
	assert_cond(policy_conds(&f, "conflicted-without-section-name-2", "same-namespace"),
		    "Accepted", "False", "Conflicted");
	assert_cond(policy_conds(&f, "conflicted-with-section-name-1", "same-namespace"),
		    "Accepted", "True", "Accepted");
	assert_cond(policy_conds(&f, "conflicted-with-section-name-2", "same-namespace"),
		    "Accepted", "False", "Conflicted");
	assert_cond(policy_conds(&f, "not-conflicted-with-section-name", "same-namespace"),
		    "Accepted", "True", "Accepted");
	assert_cond(policy_conds(&f, "not-conflicted-without-section-name", "same-namespace"),
		    "Accepted", "True", "Accepted");
	/* the winner applies */
	assert_string_equal(
		ir_cluster(&f, "backendtlspolicy-conflicted-without-section-name-test", 443)->tls->sni,
		"other.example.com");
	assert_string_equal(
		ir_cluster(&f, "backendtlspolicy-conflicted-with-section-name-test", 443)->tls->sni,
		"other.example.com");
	/* sectionName https-1 (port 443) beats the policy without one; 8443
	 * gets the policy without sectionName */
	assert_string_equal(ir_cluster(&f, "backendtlspolicy-not-conflicted-test", 443)->tls->sni,
			    "other.example.com");
	assert_string_equal(ir_cluster(&f, "backendtlspolicy-not-conflicted-test", 8443)->tls->sni,
			    "abc.example.com");
	fx_free(&f);
}

static void test_backend_tls_policy_oldest_wins(void **state)
{
	struct fx f = { 0 };
	struct gw_translate_opts o = { .now = 1700000000, .address_pool = "127.10.0.0/16" };
	char *pem = ca_pem();

	tp_setup_base(&f);
	load_ca_configmap(&f, INFRA, "ca", pem);
	free(pem);
	fx_load(&f, "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: " INFRA "}\n"
		    "spec: {ports: [{name: https, port: 443}]}\n---\n"
		    "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
		    "metadata: {name: r, namespace: " INFRA "}\n"
		    "spec: {parentRefs: [{name: same-namespace}], rules: [{backendRefs: "
		    "[{name: s, port: 443}]}]}\n---\n"
		    "apiVersion: gateway.networking.k8s.io/v1\nkind: BackendTLSPolicy\n"
		    "metadata: {name: a-newer, namespace: " INFRA
		    ", creationTimestamp: '2024-01-02T00:00:00Z'}\n"
		    "spec: {targetRefs: [{group: '', kind: Service, name: s}], validation: "
		    "{caCertificateRefs: [{group: '', kind: ConfigMap, name: ca}], hostname: new.test}}\n"
		    "---\napiVersion: gateway.networking.k8s.io/v1\nkind: BackendTLSPolicy\n"
		    "metadata: {name: z-older, namespace: " INFRA
		    ", creationTimestamp: '2024-01-01T00:00:00Z'}\n"
		    "spec: {targetRefs: [{group: '', kind: Service, name: s}], validation: "
		    "{wellKnownCACertificates: System, hostname: old.test}}\n");
	fx_run_opts(&f, &o);
	assert_cond(policy_conds(&f, "z-older", "same-namespace"), "Accepted", "True", "Accepted");
	assert_cond(policy_conds(&f, "a-newer", "same-namespace"), "Accepted", "False",
		    "Conflicted");
	assert_string_equal(ir_cluster(&f, "s", 443)->tls->sni, "old.test");
	assert_true(ir_cluster(&f, "s", 443)->tls->system_ca);
	assert_null(ir_cluster(&f, "s", 443)->tls->ca_pem);
	fx_free(&f);
}

static void test_backend_client_certificate(void **state)
{
	struct fx f = { 0 };
	const struct gw_ir_cluster *cl;

	run_tls(&f, "gateway-tls-backend-client-certificate");
	assert_cond(gw_conds(&f, INFRA, "gateway-tls-backend-client-certificate"), "ResolvedRefs",
		    "True", "ResolvedRefs");
	cl = ir_cluster(&f, "tls-backend-with-client-cert-validation", 443);
	assert_non_null(cl->tls);
	assert_non_null(cl->tls->cert_pem);
	assert_non_null(cl->tls->key_pem);
	assert_cond(policy_conds(&f, "gateway-tls-backend-client-certificate-test",
				 "gateway-tls-backend-client-certificate"),
		    "Accepted", "True", "Accepted");
	fx_free(&f);
}

static void test_backend_client_certificate_invalid(void **state)
{
	struct fx f = { 0 };
	static const char *const gws[][2] = {
		{ "gateway-client-certificate-nonexistent-secret", "InvalidClientCertificateRef" },
		{ "gateway-client-certificate-unsupported-group", "InvalidClientCertificateRef" },
		{ "gateway-client-certificate-unsupported-kind", "InvalidClientCertificateRef" },
		{ "gateway-client-certificate-malformed-secret", "InvalidClientCertificateRef" },
		{ "gateway-client-certificate-missing-reference-grant", "RefNotPermitted" },
	};

	run_tls(&f, "gateway-invalid-tls-backend-configuration");
	for (size_t i = 0; i < ARRAY_SIZE(gws); i++) {
		assert_cond(gw_conds(&f, INFRA, gws[i][0]), "ResolvedRefs", "False", gws[i][1]);
		assert_cond(gw_conds(&f, INFRA, gws[i][0]), "Accepted", "True", "Accepted");
		assert_false(fx_obj(&f, "Gateway", INFRA, gws[i][0])->ok);
	}
	fx_free(&f);
}

/* no policy: clusters stay plaintext and the kernel may route them; a TLS
 * cluster is never kernel-routed */
static void test_backend_tls_kernel_path(void **state)
{
	struct fx f = { 0 };
	size_t n_checked = 0;

	run_tls(&f, "backendtlspolicy");
	for (size_t i = 0; i < f.t->ir->n_binds; i++)
		for (size_t l = 0; l < f.t->ir->binds[i].n_listeners; l++) {
			const struct gw_ir_listener *il = &f.t->ir->binds[i].listeners[l];

			for (size_t v = 0; v < il->n_vhosts; v++)
				for (size_t a = 0; a < il->vhosts[v].n_actions; a++) {
					const struct gw_ir_action *ac = &il->vhosts[v].actions[a];

					for (size_t b = 0; b < ac->n_backends; b++)
						if (ac->backends[b].cluster >= 0 &&
						    f.t->ir->clusters[ac->backends[b].cluster].tls) {
							assert_false(ac->kernel_ok);
							n_checked++;
						}
				}
		}
	assert_true(n_checked >= 4);
	fx_free(&f);
	/* without a policy the same kind of rule may be kernel-routed */
	{
		struct gw_translate_opts o = { .now = 1700000000, .address_pool = "127.10.0.0/16" };

		tp_setup_base(&f);
		conf_load_manifest(&f, "httproute-simple-same-namespace");
		fx_run_opts(&f, &o);
	}
	assert_null(ir_cluster(&f, "infra-backend-v1", 8080)->tls);
	fx_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_cert_validation),
		cmocka_unit_test(test_client_cert_insecure_fallback),
		cmocka_unit_test(test_client_cert_invalid_refs),
		cmocka_unit_test(test_client_cert_invalid_default),
		cmocka_unit_test(test_backend_tls_policy),
		cmocka_unit_test(test_backend_tls_policy_san),
		cmocka_unit_test(test_backend_tls_policy_invalid_ca),
		cmocka_unit_test(test_backend_tls_policy_invalid_kind),
		cmocka_unit_test(test_backend_tls_policy_conflicts),
		cmocka_unit_test(test_backend_tls_policy_oldest_wins),
		cmocka_unit_test(test_backend_client_certificate),
		cmocka_unit_test(test_backend_client_certificate_invalid),
		cmocka_unit_test(test_backend_tls_kernel_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
