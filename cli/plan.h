/*
 * certpin plan (cli/plan.c): its arguments and planned state, shared with
 * its output (cli/plan_output.c).
 */
#ifndef CERTPIN_CLI_PLAN_H
#define CERTPIN_CLI_PLAN_H

#include "render.h"
#include "rotation.h"

#define MAX_TARGETS 64

typedef struct target {
	const char *host;       /* NULL: not given yet */
	const char *chain_file;
	const char *connect;
	const char *key_file;
	int key_is_csr;
	rot_chain chain;
	char key_note[512];
	char source[1024];
	char norm[CERTPIN_HOSTNAME_MAX];
	char hostbuf[CERTPIN_HOSTNAME_MAX];
} target;

typedef struct shipped {
	const char *name;
	const char *path;
	int named;              /* NAME= given (else the name is the file's) */
	const char *cafile;     /* --cafile NAME=FILE: this version's own trust anchors */
	certpin_policy *policy;
	certpin_import_anchors *anchors; /* an Android version's own trust anchors, if any */
} shipped;

typedef struct plan_args {
	shipped *pols;
	size_t npols;
	target targets[MAX_TARGETS];
	size_t ntargets;
	const char *cafile, *at, *window, *format;
	const char *cafiles[MAX_TARGETS];       /* every --cafile value, resolved in run_plan() */
	size_t ncafiles;
	int json;
	const certpin_policy **policies; /* the versions' policies, in the plan's order */
	int undecided;          /* pins say safe, but a chain is not PKIX-verified or unknown */
	int anchors_unchecked;  /* a version trusts only its own anchors, not checked */
	char anchor_msgs[4096]; /* one line per such version and host */
} plan_args;

/*
 * Does the planned chain of `t` remain unproven: a chain file that could not
 * be PKIX-verified, or a new key without any CA chain?  And how many hosts'.
 */
int plan_unverified(const target *t);
size_t plan_unverified_count(const plan_args *a);

/* Print the plan as text, or as one JSON object (0, or -1 if it cannot be written). */
void plan_print_text(const plan_args *a, const certpin_plan *plan, int64_t at);
int plan_print_json(const plan_args *a, const certpin_plan *plan, int64_t at, int exit_code);

#endif
