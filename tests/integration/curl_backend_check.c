/*
 * curl_backend_check - certpin_curl_attach() on a libcurl whose TLS backend
 * is not OpenSSL: Debian's libcurl3-gnutls, which this program is linked
 * against instead of libcurl (tests/CMakeLists.txt builds it, with the
 * helper's own objects, when libcurl-gnutls.so.4 is installed).  The
 * attach is refused with CERTPIN_E_UNSUPPORTED and a message naming the
 * backend, never skipped, and attaches nothing.
 */
#include "certpin.h"
#include "certpin/curl.h"
#include "test.h"

#include <curl/curl.h>

int main(void)
{
	certpin_policy *p = NULL;
	certpin_error err;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	const curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
	CHECK(vi && vi->ssl_version && strncmp(vi->ssl_version, "GnuTLS/", 7) == 0); /* the libcurl meant */
	CURL *e = curl_easy_init();
	CHECK(e != NULL);
	CHECK_INT(certpin_policy_new(&p), CERTPIN_OK);
	CHECK_INT(certpin_curl_attach(e, p, NULL, &err), CERTPIN_E_UNSUPPORTED);
	CHECK_INT(err.code, CERTPIN_E_UNSUPPORTED);
	CHECK_CONTAINS(err.message, "GnuTLS");
	CHECK_CONTAINS(err.message, "not OpenSSL");
	CHECK_INT(certpin_curl_result(e, NULL, NULL), CERTPIN_E_INVALID_ARG);
	printf("%s\n", err.message);
	certpin_curl_detach(e);
	curl_easy_cleanup(e);
	certpin_policy_free(p);
	curl_global_cleanup();
	return test_finish("curl_backend_check");
}
