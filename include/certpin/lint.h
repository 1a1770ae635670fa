/*
 * certpin/lint.h - rotation safety: policy lint and the rotation planner.
 * Included by <certpin.h>.
 *
 * OVERVIEW
 *
 * The classic pinning failure is a lockout: the server's certificate is
 * renewed with a new key, or the CA changes its intermediate, and every app
 * version still in the field refuses to connect until it is updated.  Two
 * tools here prevent it; both use only the policy model and the decision
 * engine (certpin_verify()), never a TLS library, so any front end can reuse
 * them.
 *
 *   - certpin_lint() inspects one policy, optionally together with the chains
 *     its hosts serve now ("live" chains), and returns findings with stable
 *     identifiers: errors (E001..) that make a lockout likely or certain, and
 *     warnings (W001..) that deserve a look.  See certpin(1), "certpin lint",
 *     for the list.
 *
 *   - certpin_plan_evaluate() takes the policies of every app version still
 *     in the field and the *planned* server state (per host, the chain the
 *     clients will verify after the change) and decides, by running
 *     certpin_verify() for every version and host, which versions would still
 *     connect and through which pin.  It also evaluates each pinset just after
 *     its expiry, flags pinsets that expire soon, and composes the fix (which
 *     backup pin to ship first, which key or intermediate to keep).
 *
 * Unknown chain elements.  A planned chain may be partly unknown, e.g. when
 * only the new leaf key is given: fill the unknown elements with flags 0 (no
 * digest).  The engine never matches them; the planner then reports a version
 * whose pins could have matched such an element as "unknown" rather than as a
 * lockout, and the plan verdict is "undecided" (not safe).
 *
 * Times are Unix seconds.  Findings, cells and texts are owned by their
 * report or plan and stay valid until it is freed; inputs are copied, so the
 * policies may be freed after the call.
 */
#ifndef CERTPIN_LINT_H
#define CERTPIN_LINT_H

#include "../certpin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Lint                                                                      */
/* ------------------------------------------------------------------------ */

typedef enum certpin_lint_severity {
	CERTPIN_LINT_WARNING = 1,
	CERTPIN_LINT_ERROR = 2
} certpin_lint_severity;

/* Checks; the identifier ("E001") and name ("too-few-pins") are stable. */
typedef enum certpin_lint_check {
	CERTPIN_LINT_TOO_FEW_PINS = 1,        /* E001 enforced pinset with fewer than 2 pins */
	CERTPIN_LINT_NO_BACKUP_PIN = 2,       /* E002 live: every pin matches a live chain, none is a backup */
	CERTPIN_LINT_NO_LIVE_MATCH = 3,       /* E003 live: no pin matches the live chain (refused now) */
	CERTPIN_LINT_PINSET_EXPIRED = 4,      /* E004 the pinset has already expired */
	CERTPIN_LINT_CA_PINS_ONLY = 101,      /* W001 pins only on CA certificates the CA may rotate */
	CERTPIN_LINT_EXPIRY_TOO_FAR = 102,    /* W002 no expiry, or expiry later than max_expiry_days */
	CERTPIN_LINT_LEAF_EXPIRES_FIRST = 103,/* W003 live: pinned leaf expires before the pinset */
	CERTPIN_LINT_PUBLIC_SUFFIX = 104,     /* W004 wildcard / include_subdomains on a public suffix */
	CERTPIN_LINT_FAIL_CLOSED = 105,       /* W005 on_expiry fail-closed: lockout on the expiry date */
	CERTPIN_LINT_EXPIRING_SOON = 106,     /* W006 pinset expires within soon_days */
	CERTPIN_LINT_NOT_CHECKED_LIVE = 107,  /* W007 live chains given, but none for this rule */
	CERTPIN_LINT_LIVE_NOT_PINNED = 108    /* W008 a live chain's host has no rule in the policy */
} certpin_lint_check;

/* "E001", "W003", ...; "?" for an unknown value. */
CERTPIN_EXPORT const char *certpin_lint_check_id(certpin_lint_check check);
/* "too-few-pins", "ca-pins-only", ...; "unknown" for an unknown value. */
CERTPIN_EXPORT const char *certpin_lint_check_name(certpin_lint_check check);

/*
 * The chain a host serves now, as its *verified* chain (leaf first, trust
 * anchor last), e.g. from a TLS connection.  Borrowed for the call only.
 */
typedef struct certpin_lint_chain {
	const char *hostname;               /* the host the chain was obtained for */
	const certpin_chain_elem *chain;
	size_t n;
	int64_t leaf_not_after;             /* the leaf's notAfter; 0 if unknown */
	const char *const *subjects;        /* n subject names for messages, or NULL */
} certpin_lint_chain;

typedef struct certpin_lint_options {
	unsigned int version;               /* CERTPIN_LINT_OPTIONS_VERSION */
	int64_t now;                        /* time of the check; 0 = the current time */
	unsigned int max_expiry_days;       /* W002 threshold */
	unsigned int soon_days;             /* W006 threshold */
	const certpin_lint_chain *live;     /* live chains, or NULL: only offline checks run */
	size_t nlive;
} certpin_lint_options;

#define CERTPIN_LINT_OPTIONS_VERSION 1
#define CERTPIN_LINT_OPTIONS_INIT { CERTPIN_LINT_OPTIONS_VERSION, 0, 365, 30, NULL, 0 }

typedef struct certpin_lint_finding {
	unsigned int version;               /* CERTPIN_LINT_FINDING_VERSION */
	certpin_lint_check check;
	certpin_lint_severity severity;
	const char *id;                     /* "E001" */
	const char *name;                   /* "too-few-pins" */
	int rule;                           /* rule index in the policy, -1 if none */
	const char *pattern;                /* that rule's pattern, or NULL */
	const char *hostname;               /* live host the finding is about, or NULL */
	int pin;                            /* pin index in the rule, -1 if not about one pin */
	const char *message;                /* one line, no trailing newline */
} certpin_lint_finding;

#define CERTPIN_LINT_FINDING_VERSION 1

typedef struct certpin_lint_report certpin_lint_report;

/*
 * Lint `policy`.  Findings are ordered by rule, then errors before warnings.
 * Returns CERTPIN_OK (whatever was found; count errors with
 * certpin_lint_errors()), CERTPIN_E_INVALID_ARG, CERTPIN_E_NOMEM, or
 * CERTPIN_E_HOSTNAME for a live chain whose hostname is invalid.  `opts` may
 * be NULL (defaults).  *out is NULL on error; free with
 * certpin_lint_report_free().
 *
 * Live checks use the rule that certpin_verify() applies to each live chain's
 * hostname.  A "backup pin" is a pin of the rule that matches no certificate
 * of any live chain of that rule (by digest, at any position): it is what
 * keeps clients working when the serving key or CA changes.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_lint(certpin_lint_report **out, const certpin_policy *policy,
	const certpin_lint_options *opts);

CERTPIN_EXPORT size_t certpin_lint_count(const certpin_lint_report *report);
/* Finding `index`, or NULL if out of range.  Borrowed from the report. */
CERTPIN_EXPORT const certpin_lint_finding *certpin_lint_finding_at(const certpin_lint_report *report, size_t index);
CERTPIN_EXPORT size_t certpin_lint_errors(const certpin_lint_report *report);
CERTPIN_EXPORT size_t certpin_lint_warnings(const certpin_lint_report *report);
/* NULL-safe. */
CERTPIN_EXPORT void certpin_lint_report_free(certpin_lint_report *report);

/* ------------------------------------------------------------------------ */
/* Rotation planner                                                          */
/* ------------------------------------------------------------------------ */

/*
 * The planned state of one host: the chain clients will verify after the
 * change, leaf first, trust anchor last.  Elements with flags 0 are unknown
 * (see OVERVIEW).  Borrowed for the call only.
 */
typedef struct certpin_plan_host {
	const char *hostname;
	const certpin_chain_elem *chain;
	size_t n;
} certpin_plan_host;

typedef struct certpin_plan_options {
	unsigned int version;               /* CERTPIN_PLAN_OPTIONS_VERSION */
	int64_t at;                         /* deploy time; 0 = the current time */
	unsigned int expiry_window_days;    /* flag pinsets expiring within this many days of `at` */
	certpin_pin_style style;            /* pin style used in the advice text */
} certpin_plan_options;

#define CERTPIN_PLAN_OPTIONS_VERSION 1
#define CERTPIN_PLAN_OPTIONS_INIT { CERTPIN_PLAN_OPTIONS_VERSION, 0, 30, CERTPIN_STYLE_DEFAULT }

typedef enum certpin_plan_outcome {
	CERTPIN_PLAN_MATCH = 1,             /* connects: a pin matched */
	CERTPIN_PLAN_NOT_PINNED = 2,        /* connects: no rule applies to the host */
	CERTPIN_PLAN_REPORT_ONLY = 3,       /* connects: no pin matched, the rule is report-only */
	CERTPIN_PLAN_EXPIRED_OPEN = 4,      /* connects without pin checks: pinset expired, fail-open */
	CERTPIN_PLAN_LOCKOUT = 5,           /* refused: no pin matches the planned chain */
	CERTPIN_PLAN_EXPIRED_CLOSED = 6,    /* refused: pinset expired, fail-closed */
	CERTPIN_PLAN_UNKNOWN = 7,           /* no pin matched the known elements; one could match an unknown one */
	CERTPIN_PLAN_INVALID = 8            /* the engine rejected the input (invalid host name) */
} certpin_plan_outcome;

/* "match", "not-pinned", "report-only", "expired-fail-open", "lockout", ... */
CERTPIN_EXPORT const char *certpin_plan_outcome_name(certpin_plan_outcome outcome);

/* One shipped version against one host. */
typedef struct certpin_plan_cell {
	unsigned int version;               /* CERTPIN_PLAN_CELL_VERSION */
	certpin_plan_outcome outcome;       /* at the deploy time */
	int connects;                       /* 1 for match, not-pinned, report-only, expired-fail-open */
	int engine_rc;                      /* what certpin_verify() returned */
	certpin_result result;              /* the engine's result at the deploy time */
	certpin_pin matched;                /* the pin that matched, if result.pin >= 0 */
	certpin_position matched_position;
	int64_t expires;                    /* the rule's expiry plus clock skew; 0 if none or not pinned */
	certpin_expiry_action on_expiry;
	int expiring_soon;                  /* expires in (at, at + window] */
	certpin_plan_outcome after_expiry;  /* outcome just after `expires`; 0 if no expiry */
} certpin_plan_cell;

#define CERTPIN_PLAN_CELL_VERSION 1

typedef enum certpin_plan_verdict {
	CERTPIN_PLAN_SAFE = 0,              /* every version connects */
	CERTPIN_PLAN_UNSAFE = 1,            /* at least one version is refused */
	CERTPIN_PLAN_UNDECIDED = 2          /* none refused, but some depend on unknown chain elements */
} certpin_plan_verdict;

/* "safe", "unsafe", "undecided". */
CERTPIN_EXPORT const char *certpin_plan_verdict_name(certpin_plan_verdict verdict);

typedef struct certpin_plan certpin_plan;

/*
 * Evaluate `npolicies` shipped policies (named names[i], e.g. "app 2.3";
 * `names` may be NULL: "#1", "#2", ...) against `nhosts` planned host states
 * at opts->at.  `opts` may be NULL.  Returns CERTPIN_OK with *out set (a
 * lockout is a result, not an error), CERTPIN_E_INVALID_ARG (NULL arrays,
 * zero counts, an unknown options version), or CERTPIN_E_NOMEM.  Every
 * decision is certpin_verify()'s.
 */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_plan_evaluate(certpin_plan **out,
	const certpin_policy *const *policies, const char *const *names, size_t npolicies,
	const certpin_plan_host *hosts, size_t nhosts, const certpin_plan_options *opts);

CERTPIN_EXPORT certpin_plan_verdict certpin_plan_get_verdict(const certpin_plan *plan);
CERTPIN_EXPORT size_t certpin_plan_policy_count(const certpin_plan *plan);
CERTPIN_EXPORT size_t certpin_plan_host_count(const certpin_plan *plan);
/* Name of policy `index` and hostname of host `index` (normalized); NULL if out of range. */
CERTPIN_EXPORT const char *certpin_plan_policy_name(const certpin_plan *plan, size_t index);
CERTPIN_EXPORT const char *certpin_plan_host_name(const certpin_plan *plan, size_t index);
/* The cell for (policy, host), or NULL if out of range.  Borrowed. */
CERTPIN_EXPORT const certpin_plan_cell *certpin_plan_get_cell(const certpin_plan *plan, size_t policy, size_t host);

/* What to do about one host.  Arrays are borrowed from the plan. */
typedef struct certpin_plan_advice {
	unsigned int version;               /* set by the library: CERTPIN_PLAN_ADVICE_VERSION */
	const size_t *refused;              /* policies refused (lockout or expired fail-closed) */
	size_t nrefused;
	const size_t *undecided;            /* policies with outcome unknown */
	size_t nundecided;
	const certpin_pin *offered;         /* SPKI pins of the known planned chain, leaf first: */
	const size_t *offered_depth;        /*   backup pins a new version could ship */
	size_t noffered;
	const size_t *holders;              /* policies whose rule already has offered[0] */
	size_t nholders;
	const certpin_pin *keep;            /* pins every locked-out version has: keeping a */
	const certpin_position *keep_position; /* certificate with one of them avoids the lockout */
	size_t nkeep;
	const char *text;                   /* the fix in words, "" if nothing to fix */
} certpin_plan_advice;

#define CERTPIN_PLAN_ADVICE_VERSION 1

/* Fill `out` for host `index`.  CERTPIN_E_INVALID_ARG if out of range. */
CERTPIN_EXPORT CERTPIN_MUST_CHECK int certpin_plan_get_advice(certpin_plan_advice *out,
	const certpin_plan *plan, size_t host);

/*
 * The verdict and fix in words: a first line "safe to deploy", "UNSAFE: would
 * lock out versions A, B" or "UNDECIDED: ...", then one line per fix and per
 * warning (expiring pinsets).  NUL-terminated, ends with a newline; borrowed.
 */
CERTPIN_EXPORT const char *certpin_plan_text(const certpin_plan *plan);

/* Number of warnings (expiring pinsets, report-only mismatches) and warning `index` (borrowed, NULL if out of range). */
CERTPIN_EXPORT size_t certpin_plan_warning_count(const certpin_plan *plan);
CERTPIN_EXPORT const char *certpin_plan_warning(const certpin_plan *plan, size_t index);

/* NULL-safe. */
CERTPIN_EXPORT void certpin_plan_free(certpin_plan *plan);

#ifdef __cplusplus
}
#endif

#endif /* CERTPIN_LINT_H */
