/* curl_client URL POLICY.json [CAFILE [CONNECT_TO]]: GET URL with libcurl, the pins checked by libcertpin-curl. */
#include <stdio.h>
#include <curl/curl.h>
#include <certpin/curl.h>

static size_t discard(char *data, size_t size, size_t n, void *payload) { (void)data, (void)payload; return size * n; }

int main(int argc, char **argv)
{
	certpin_policy *policy = NULL;
	certpin_result res;
	certpin_error err;

	if (argc < 3 || argc > 5) {
		fprintf(stderr, "usage: %s URL POLICY.json [CAFILE [CONNECT_TO]]\n", argv[0]);
		return 2;
	}
	CURL *easy = curl_easy_init();
	if (!easy || certpin_policy_load_file(&policy, argv[2], NULL, &err) != CERTPIN_OK ||
	    certpin_curl_attach(easy, policy, NULL, &err) != CERTPIN_OK) { /* after the setopts below is fine too */
		fprintf(stderr, "%s\n", easy ? err.message : "no easy handle");
		return 2;
	}
	certpin_policy_free(policy); /* the attachment keeps its own reference */
	curl_easy_setopt(easy, CURLOPT_URL, argv[1]);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
	if (argc >= 4)
		curl_easy_setopt(easy, CURLOPT_CAINFO, argv[3]);
	struct curl_slist *connect_to = argc == 5 ? curl_slist_append(NULL, argv[4]) : NULL;
	curl_easy_setopt(easy, CURLOPT_CONNECT_TO, connect_to); /* as curl --connect-to, e.g. "::127.0.0.1:" */
	CURLcode cc = curl_easy_perform(easy);
	int rc = certpin_curl_result(easy, &res, &err); /* also after a refused handshake */
	printf("%s: curl %d, certpin %s, verdict %s%s%s\n", argv[1], (int)cc, certpin_error_name(rc),
		certpin_verdict_name(res.verdict), err.message[0] ? ": " : "", err.message);
	certpin_curl_detach(easy);
	curl_easy_cleanup(easy);
	curl_slist_free_all(connect_to); /* after the handle that uses it */
	return cc == CURLE_OK && rc == CERTPIN_OK ? 0 : 1;
}
