/*
 * gen: deterministic data for the kguard benchmark.
 *
 *   gen events --seed S --count N --out FILE
 *       an audit log (JSONL, audit.k8s.io/v1) of at least N events from an
 *       EKS-like cluster: kubelets, control plane, controllers, in-cluster
 *       service accounts, IAM-mapped people and CI, anonymous probes and
 *       scanners; RequestReceived + ResponseComplete per request (and
 *       ResponseStarted for watch/exec/port-forward), interleaved as in a
 *       real log; ~5% workload writes with full pod specs at Request /
 *       RequestResponse level; ~3% of requests from addresses on the lists.
 *   gen lists --seed S --dir DIR [--count ENTRIES per threat list]
 *       threat-1.txt .. threat-6.txt (250,000 entries each: IPs and CIDRs,
 *       IPv4 and IPv6) and tor-exits.txt (Tor exit-addresses format).
 *   gen rules --seed S --count N --dir DIR
 *       N declarative rule files (Custom:Kubernetes/BenchNNN) for the
 *       "+100 rules" measurement.
 *
 * The same seed gives byte-identical output.  A summary goes to stderr.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "benchdata.h"

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t SEED = 1;
static bd_rng R;

/* ---- string builder --------------------------------------------------- */

typedef struct sb {
    char *p;
    size_t len, cap;
} sb;

static void sb_reserve(sb *s, size_t extra)
{
    if (s->len + extra + 1 <= s->cap)
        return;
    size_t cap = s->cap ? s->cap : 4096;
    while (cap < s->len + extra + 1)
        cap *= 2;
    s->p = realloc(s->p, cap);
    if (!s->p) {
        perror("gen");
        exit(1);
    }
    s->cap = cap;
}

static void sb_put(sb *s, const char *t)
{
    size_t n = strlen(t);
    sb_reserve(s, n);
    memcpy(s->p + s->len, t, n + 1);
    s->len += n;
}

static void sb_putf(sb *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_putf(sb *s, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(s->p ? s->p + s->len : NULL, s->p ? s->cap - s->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        exit(1);
    if (s->len + (size_t)n + 1 > s->cap) {
        sb_reserve(s, (size_t)n);
        va_start(ap, fmt);
        vsnprintf(s->p + s->len, s->cap - s->len, fmt, ap);
        va_end(ap);
    }
    s->len += (size_t)n;
}

/* ---- random helpers --------------------------------------------------- */

#define PICK(arr) ((arr)[bd_below(&R, N_ELEM(arr))])

static void uuid(char out[37])
{
    uint64_t a = bd_next(&R), b = bd_next(&R);
    snprintf(out, 37, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
             (unsigned)((a >> 16) & 0xFFFF), (unsigned)(a & 0xFFF),
             (unsigned)(0x8000 | ((b >> 48) & 0x3FFF)),
             (unsigned long long)(b & 0xFFFFFFFFFFFFull));
}

static void hexstr(char *out, int n)
{
    static const char H[] = "0123456789abcdef";
    for (int i = 0; i < n; i++)
        out[i] = H[bd_below(&R, 16)];
    out[n] = 0;
}

static void alnum(char *out, int n)
{
    static const char A[] = "bcdfghjklmnpqrstvwxz2456789";
    for (int i = 0; i < n; i++)
        out[i] = A[bd_below(&R, sizeof A - 1)];
    out[n] = 0;
}

static void upper_id(char *out, int n)
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    for (int i = 0; i < n; i++)
        out[i] = A[bd_below(&R, sizeof A - 1)];
    out[n] = 0;
}

/* ---- time ------------------------------------------------------------- */

static long long NOW_US; /* microseconds since the epoch */

static void fmt_time(long long us, char out[40], int micro)
{
    time_t t = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    if (micro)
        snprintf(out, 40, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, us % 1000000);
    else
        snprintf(out, 40, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* ---- the cluster ------------------------------------------------------ */

#define ACCOUNT "111122223333"
#define REGION "eu-west-1"
#define CLUSTER "prod-eu"
#define K8S_GIT "6211ce9"

enum { U_NODE, U_CP, U_CTRL, U_SA, U_HUMAN, U_CI, U_ANON_PROBE, U_ANON_SCAN };

typedef struct user {
    int kind;
    char name[200];
    char uid[128];
    char groups[320];
    char extra[900];
    char ip[64], ip2[64];
    char ua[200];
    const char *ns;        /* service accounts: their namespace */
    int profile;           /* service accounts: what they do */
    int node;              /* kubelets and pods: the node */
} user;

#define N_NODES 48
static user NODES[N_NODES];
static char NODE_NAME[N_NODES][80];
static char NODE_UID[N_NODES][40];

static user CPS[8];
static int N_CPS;
static user CTRLS[20];
static int N_CTRLS;
static user SAS[96];
static int N_SAS;
static user HUMANS[16];
static int N_HUMANS;
static user CIS[4];
static int N_CIS;

static const char *APP_NS[] = {"payments", "checkout", "catalog", "search", "data",
                               "ml-training", "backend", "frontend", "staging", "default"};
static const char *SYS_NS[] = {"kube-system", "monitoring", "logging", "argocd", "cert-manager",
                               "ingress-nginx", "karpenter", "external-secrets", "istio-system"};

static void node_ip(int i, char *out)
{
    if (i % 6 == 5) /* the IPv6 node group */
        snprintf(out, 48, "2a05:d018:9f1:4b%02x:%x:%x:%x:%x", 10 + i % 3,
                 (unsigned)bd_below(&R, 0xFFFF), (unsigned)bd_below(&R, 0xFFFF),
                 (unsigned)bd_below(&R, 0xFFFF), (unsigned)bd_below(&R, 0xFFFF));
    else
        snprintf(out, 48, "10.0.%d.%d", 1 + i % 3, 16 + i * 5 % 230);
}

static void pod_ip(int node, char *out)
{
    if (node % 6 == 5)
        snprintf(out, 48, "2a05:d018:9f1:4b%02x:%x::%x", 10 + node % 3,
                 (unsigned)bd_below(&R, 0xFFFF), (unsigned)bd_below(&R, 0xFFFF));
    else
        snprintf(out, 48, "10.0.%d.%d", 32 + bd_below(&R, 200), 1 + bd_below(&R, 254));
}

static void iam_extra(char *out, size_t n, const char *role, const char *session,
                      const char *akid, const char *pid)
{
    snprintf(out, n,
             "{\"accessKeyId\":[\"%s\"],\"arn\":[\"arn:aws:sts::" ACCOUNT ":assumed-role/%s/%s\"],"
             "\"canonicalArn\":[\"arn:aws:iam::" ACCOUNT ":role/%s\"],\"principalId\":[\"%s\"],"
             "\"sessionName\":[\"%s\"]}",
             akid, role, session, role, pid, session);
}

static void build_nodes(void)
{
    char role_pid[32];
    upper_id(role_pid, 17);
    for (int i = 0; i < N_NODES; i++) {
        user *u = &NODES[i];
        char inst[24], akid[24];
        u->kind = U_NODE;
        u->node = i;
        node_ip(i, u->ip);
        snprintf(NODE_NAME[i], sizeof NODE_NAME[i], "ip-10-0-%d-%d." REGION ".compute.internal",
                 1 + i % 3, 16 + i * 5 % 230);
        uuid(NODE_UID[i]);
        hexstr(inst, 17);
        inst[0] = '0';
        char instance[24];
        snprintf(instance, sizeof instance, "i-%s", inst);
        upper_id(akid, 16);
        char akid2[24];
        snprintf(akid2, sizeof akid2, "ASIA%s", akid);
        char pid[40];
        snprintf(pid, sizeof pid, "AROA%s", role_pid);
        snprintf(u->name, sizeof u->name, "system:node:%s", NODE_NAME[i]);
        snprintf(u->uid, sizeof u->uid, "aws-iam-authenticator:" ACCOUNT ":%s", pid);
        snprintf(u->groups, sizeof u->groups,
                 "[\"system:bootstrappers\",\"system:nodes\",\"system:authenticated\"]");
        iam_extra(u->extra, sizeof u->extra, "eks-" CLUSTER "-node-role", instance, akid2, pid);
        snprintf(u->ua, sizeof u->ua, "kubelet/v1.29.3 (linux/amd64) kubernetes/" K8S_GIT);
    }
}

static void build_control_plane(void)
{
    static const char *names[] = {"system:kube-controller-manager", "system:kube-scheduler",
                                  "system:apiserver", "eks:cloud-controller-manager",
                                  "eks:certificate-controller", "eks:node-manager",
                                  "eks:addon-manager", "eks:k8s-metrics"};
    static const char *uas[] = {
        "kube-controller-manager/v1.29.3 (linux/amd64) kubernetes/" K8S_GIT "/leader-election",
        "kube-scheduler/v1.29.3 (linux/amd64) kubernetes/" K8S_GIT "/scheduler",
        "kube-apiserver/v1.29.3 (linux/amd64) kubernetes/" K8S_GIT,
        "aws-cloud-controller-manager/v1.29.1 (linux/amd64) kubernetes/" K8S_GIT "/leader-election",
        "eks-certificates-controller/v0.0.0 (linux/amd64) kubernetes/$Format",
        "eks-node-manager/v1.29 (linux/amd64) kubernetes/$Format",
        "eks-addon-manager/v0.5.0 (linux/amd64) kubernetes/$Format",
        "eks-k8s-metrics/v1.0.0 (linux/amd64) kubernetes/$Format"};
    for (size_t i = 0; i < N_ELEM(names); i++) {
        user *u = &CPS[N_CPS++];
        u->kind = U_CP;
        snprintf(u->name, sizeof u->name, "%s", names[i]);
        if (strcmp(names[i], "system:apiserver") == 0) {
            uuid(u->uid);
            snprintf(u->groups, sizeof u->groups, "[\"system:masters\"]");
            snprintf(u->ip, sizeof u->ip, "::1");
        } else {
            snprintf(u->groups, sizeof u->groups, "[\"system:authenticated\"]");
            snprintf(u->ip, sizeof u->ip, "10.0.0.%d", 60 + (int)i * 17);
        }
        snprintf(u->ua, sizeof u->ua, "%s", uas[i]);
    }
    static const char *ctrls[] = {
        "replicaset-controller", "deployment-controller", "daemon-set-controller",
        "job-controller", "cronjob-controller", "endpointslice-controller",
        "endpoint-controller", "namespace-controller", "generic-garbage-collector",
        "horizontal-pod-autoscaler", "node-controller", "statefulset-controller",
        "resourcequota-controller", "pvc-protection-controller", "root-ca-cert-publisher",
        "ttl-after-finished-controller"};
    for (size_t i = 0; i < N_ELEM(ctrls); i++) {
        user *u = &CTRLS[N_CTRLS++];
        u->kind = U_CTRL;
        u->ns = "kube-system";
        snprintf(u->name, sizeof u->name, "system:serviceaccount:kube-system:%s", ctrls[i]);
        uuid(u->uid);
        snprintf(u->groups, sizeof u->groups,
                 "[\"system:serviceaccounts\",\"system:serviceaccounts:kube-system\","
                 "\"system:authenticated\"]");
        snprintf(u->ip, sizeof u->ip, "%s", CPS[0].ip);
        {
            char jti[37];
            uuid(jti);
            snprintf(u->extra, sizeof u->extra, "{\"authentication.kubernetes.io/credential-id\":[\"JTI=%s\"]}", jti);
        }
        snprintf(u->ua, sizeof u->ua,
                 "kube-controller-manager/v1.29.3 (linux/amd64) kubernetes/" K8S_GIT
                 "/system:serviceaccount:kube-system:%s", ctrls[i]);
    }
}

enum {
    P_AWSNODE, P_COREDNS, P_CSI, P_METRICS, P_PROM, P_KSM, P_FLUENT, P_ARGO, P_CERTMGR,
    P_INGRESS, P_KARPENTER, P_EXTSECRETS, P_ISTIOD, P_APP, P_KUBEPROXY, P_PROFILES
};

static void build_service_accounts(void)
{
    static const struct {
        const char *ns, *sa, *pod, *ua;
        int profile, pods;
    } S[] = {
        {"kube-system", "aws-node", "aws-node", "aws-vpc-cni-k8s/v1.18.0 (linux/amd64)", P_AWSNODE, 6},
        {"kube-system", "kube-proxy", "kube-proxy", "kube-proxy/v1.29.3 (linux/amd64) kubernetes/" K8S_GIT, P_KUBEPROXY, 4},
        {"kube-system", "coredns", "coredns-5b8cc885bc", "coredns/v1.11.1 (linux/amd64) kubernetes/" K8S_GIT, P_COREDNS, 2},
        {"kube-system", "ebs-csi-controller-sa", "ebs-csi-controller-6b7c9fd4b6", "csi-provisioner/v4.0.0 (linux/amd64)", P_CSI, 2},
        {"kube-system", "metrics-server", "metrics-server-7b9f8d5c6d", "metrics-server/v0.7.1 (linux/amd64) kubernetes/$Format", P_METRICS, 1},
        {"monitoring", "prometheus-k8s", "prometheus-k8s", "Prometheus/2.51.1", P_PROM, 2},
        {"monitoring", "kube-state-metrics", "kube-state-metrics-6f8d4b7c9", "kube-state-metrics/v2.12.0 (linux/amd64) kubernetes/$Format", P_KSM, 1},
        {"logging", "fluent-bit", "fluent-bit", "Go-http-client/2.0", P_FLUENT, 4},
        {"argocd", "argocd-application-controller", "argocd-application-controller", "argocd-application-controller/v0.0.0 (linux/amd64) kubernetes/$Format", P_ARGO, 1},
        {"argocd", "argocd-server", "argocd-server-7c9d8f6b5", "argocd-server/v0.0.0 (linux/amd64) kubernetes/$Format", P_ARGO, 1},
        {"cert-manager", "cert-manager", "cert-manager-5d9c7b8f4", "cert-manager-controller/v1.14.4 (linux/amd64) cert-manager/leader-election", P_CERTMGR, 1},
        {"ingress-nginx", "ingress-nginx", "ingress-nginx-controller-7f9c6d8b5", "nginx-ingress-controller/v1.10.0 (linux/amd64) ingress-nginx/71f78d49f0a496c31d4c19f095469f3f23900f8a", P_INGRESS, 2},
        {"karpenter", "karpenter", "karpenter-6c8f9d7b5", "karpenter/v0.35.2", P_KARPENTER, 1},
        {"external-secrets", "external-secrets", "external-secrets-5f7d9c8b6", "external-secrets/v0.9.14 (linux/amd64) kubernetes/$Format", P_EXTSECRETS, 1},
        {"istio-system", "istiod", "istiod-7d8c9f6b5", "pilot-discovery/1.21.1", P_ISTIOD, 1},
        {"payments", "payments-api", "payments-api-7d4f8c9b6", "payments-api/2.14 (linux/amd64)", P_APP, 3},
        {"checkout", "checkout-web", "checkout-web-5c8d7f9b4", "Go-http-client/2.0", P_APP, 2},
        {"catalog", "catalog-svc", "catalog-svc-6b9c8d7f5", "okhttp/4.12.0", P_APP, 2},
        {"search", "search-indexer", "search-indexer", "Apache-HttpClient/5.2.1 (Java/17.0.10)", P_APP, 1},
        {"data", "etl-runner", "etl-runner-28571040", "python-requests/2.31.0", P_APP, 1},
        {"backend", "orders", "orders-7f6d9c8b5", "Go-http-client/2.0", P_APP, 2},
        {"default", "default", "legacy-batch-6d8f7c9b4", "kubernetes-client/python 29.0.0", P_APP, 1},
    };
    for (size_t i = 0; i < N_ELEM(S); i++) {
        for (int p = 0; p < S[i].pods && N_SAS < (int)N_ELEM(SAS); p++) {
            user *u = &SAS[N_SAS++];
            char jti[37], puid[37], suffix[8];
            u->kind = U_SA;
            u->ns = S[i].ns;
            u->profile = S[i].profile;
            u->node = (int)bd_below(&R, N_NODES);
            snprintf(u->name, sizeof u->name, "system:serviceaccount:%s:%s", S[i].ns, S[i].sa);
            uuid(u->uid);
            snprintf(u->groups, sizeof u->groups,
                     "[\"system:serviceaccounts\",\"system:serviceaccounts:%s\",\"system:authenticated\"]",
                     S[i].ns);
            uuid(jti);
            uuid(puid);
            alnum(suffix, 5);
            snprintf(u->extra, sizeof u->extra,
                     "{\"authentication.kubernetes.io/credential-id\":[\"JTI=%s\"],"
                     "\"authentication.kubernetes.io/node-name\":[\"%s\"],"
                     "\"authentication.kubernetes.io/node-uid\":[\"%s\"],"
                     "\"authentication.kubernetes.io/pod-name\":[\"%s-%s\"],"
                     "\"authentication.kubernetes.io/pod-uid\":[\"%s\"]}",
                     jti, NODE_NAME[u->node], NODE_UID[u->node], S[i].pod, suffix, puid);
            if (S[i].profile == P_AWSNODE || S[i].profile == P_KUBEPROXY || S[i].profile == P_FLUENT)
                snprintf(u->ip, sizeof u->ip, "%s", NODES[u->node].ip); /* host network */
            else
                pod_ip(u->node, u->ip);
            snprintf(u->ua, sizeof u->ua, "%s", S[i].ua);
        }
    }
}

static void office_ip(char *out)
{
    switch (bd_below(&R, 10)) {
    case 0: case 1: case 2: case 3:
        snprintf(out, 48, "81.2.69.%d", 2 + bd_below(&R, 250));
        break;
    case 4: case 5: case 6:
        snprintf(out, 48, "213.86.35.%d", 2 + bd_below(&R, 250));
        break;
    default:
        snprintf(out, 48, "2a02:c7c:5b4e:%x:%x:%x:%x:%x", 1 + bd_below(&R, 40),
                 (unsigned)bd_below(&R, 0xFFFF), (unsigned)bd_below(&R, 0xFFFF),
                 (unsigned)bd_below(&R, 0xFFFF), (unsigned)bd_below(&R, 0xFFFF));
    }
}

static void build_people(void)
{
    static const struct {
        const char *user, *role, *session, *groups;
    } H[] = {
        {"kubernetes-admin", "eks-" CLUSTER "-admin", "terraform", "[\"system:masters\",\"system:authenticated\"]"},
        {NULL, "AWSReservedSSO_PlatformAdmin_3f1c2a9b7d6e5f40", "alice.martin@example.com", "[\"platform-admins\",\"system:authenticated\"]"},
        {NULL, "AWSReservedSSO_PlatformAdmin_3f1c2a9b7d6e5f40", "omar.haddad@example.com", "[\"platform-admins\",\"system:authenticated\"]"},
        {NULL, "AWSReservedSSO_Developer_8c2d4e6f1a3b5c70", "bob.nguyen@example.com", "[\"developers\",\"system:authenticated\"]"},
        {NULL, "AWSReservedSSO_Developer_8c2d4e6f1a3b5c70", "chen.wei@example.com", "[\"developers\",\"system:authenticated\"]"},
        {NULL, "AWSReservedSSO_Developer_8c2d4e6f1a3b5c70", "dana.kowalski@example.com", "[\"developers\",\"system:authenticated\"]"},
        {NULL, "AWSReservedSSO_Developer_8c2d4e6f1a3b5c70", "eve.santos@example.com", "[\"developers\",\"system:authenticated\"]"},
        {NULL, "AWSReservedSSO_ReadOnly_1b3d5f7a9c2e4f60", "farid.rahman@example.com", "[\"viewers\",\"system:authenticated\"]"},
        {NULL, "AWSReservedSSO_ReadOnly_1b3d5f7a9c2e4f60", "grace.obi@example.com", "[\"viewers\",\"system:authenticated\"]"},
        {"dev:hiro", "eks-" CLUSTER "-developers", "hiro.tanaka", "[\"developers\",\"system:authenticated\"]"},
        {"dev:ines", "eks-" CLUSTER "-developers", "ines.garcia", "[\"developers\",\"system:authenticated\"]"},
        {"oncall:jules", "eks-" CLUSTER "-oncall", "jules.bernard", "[\"oncall\",\"system:authenticated\"]"},
    };
    static const char *uas[] = {
        "kubectl/v1.29.2 (darwin/arm64) kubernetes/4b8e819",
        "kubectl/v1.30.1 (linux/amd64) kubernetes/6911225",
        "kubectl/v1.28.4 (windows/amd64) kubernetes/bae2c62",
        "k9s/v0.32.4 (darwin/arm64) kubernetes/$Format",
        "Lens/2024.3.191333",
        "kubectl/v1.29.2 (darwin/arm64) kubernetes/4b8e819",
    };
    for (size_t i = 0; i < N_ELEM(H); i++) {
        user *u = &HUMANS[N_HUMANS++];
        char pid[32], akid[24], akid2[28], pid2[40];
        u->kind = U_HUMAN;
        upper_id(pid, 17);
        snprintf(pid2, sizeof pid2, "AROA%s", pid);
        upper_id(akid, 16);
        snprintf(akid2, sizeof akid2, "ASIA%s", akid);
        if (H[i].user)
            snprintf(u->name, sizeof u->name, "%s", H[i].user);
        else
            snprintf(u->name, sizeof u->name, "arn:aws:sts::" ACCOUNT ":assumed-role/%s/%s",
                     H[i].role, H[i].session);
        snprintf(u->uid, sizeof u->uid, "aws-iam-authenticator:" ACCOUNT ":%s", pid2);
        snprintf(u->groups, sizeof u->groups, "%s", H[i].groups);
        iam_extra(u->extra, sizeof u->extra, H[i].role, H[i].session, akid2, pid2);
        office_ip(u->ip);
        if (bd_pct(&R, 25))
            snprintf(u->ip2, sizeof u->ip2, "10.0.0.%d", 200 + bd_below(&R, 50)); /* egress proxy */
        snprintf(u->ua, sizeof u->ua, "%s", uas[i % N_ELEM(uas)]);
    }
    for (int i = 0; i < 3; i++) {
        user *u = &CIS[N_CIS++];
        char pid[32], akid[24], akid2[28], pid2[40];
        static const char *roles[] = {"github-actions-deployer", "argocd-image-updater", "terraform-ci"};
        static const char *sess[] = {"GitHubActions", "image-updater", "atlantis"};
        static const char *cuas[] = {"kubectl/v1.29.0 (linux/amd64) kubernetes/3f7a50f",
                                     "Helm/3.14.2", "HashiCorp/1.0 Terraform/1.7.5"};
        u->kind = U_CI;
        upper_id(pid, 17);
        snprintf(pid2, sizeof pid2, "AROA%s", pid);
        upper_id(akid, 16);
        snprintf(akid2, sizeof akid2, "ASIA%s", akid);
        snprintf(u->name, sizeof u->name, "arn:aws:sts::" ACCOUNT ":assumed-role/%s/%s", roles[i], sess[i]);
        snprintf(u->uid, sizeof u->uid, "aws-iam-authenticator:" ACCOUNT ":%s", pid2);
        snprintf(u->groups, sizeof u->groups, "[\"deployers\",\"system:authenticated\"]");
        iam_extra(u->extra, sizeof u->extra, roles[i], sess[i], akid2, pid2);
        snprintf(u->ip, sizeof u->ip, "52.%d.%d.%d", 208 + bd_below(&R, 8), bd_below(&R, 256),
                 1 + bd_below(&R, 254));
        snprintf(u->ua, sizeof u->ua, "%s", cuas[i]);
    }
}

/* ---- resources -------------------------------------------------------- */

typedef struct res {
    const char *name, *group, *version, *kind;
    int namespaced;
} res;

static const res RES[] = {
    {"pods", "", "v1", "Pod", 1},
    {"secrets", "", "v1", "Secret", 1},
    {"configmaps", "", "v1", "ConfigMap", 1},
    {"services", "", "v1", "Service", 1},
    {"endpoints", "", "v1", "Endpoints", 1},
    {"events", "", "v1", "Event", 1},
    {"serviceaccounts", "", "v1", "ServiceAccount", 1},
    {"nodes", "", "v1", "Node", 0},
    {"namespaces", "", "v1", "Namespace", 0},
    {"persistentvolumeclaims", "", "v1", "PersistentVolumeClaim", 1},
    {"persistentvolumes", "", "v1", "PersistentVolume", 0},
    {"leases", "coordination.k8s.io", "v1", "Lease", 1},
    {"deployments", "apps", "v1", "Deployment", 1},
    {"replicasets", "apps", "v1", "ReplicaSet", 1},
    {"daemonsets", "apps", "v1", "DaemonSet", 1},
    {"statefulsets", "apps", "v1", "StatefulSet", 1},
    {"jobs", "batch", "v1", "Job", 1},
    {"cronjobs", "batch", "v1", "CronJob", 1},
    {"endpointslices", "discovery.k8s.io", "v1", "EndpointSlice", 1},
    {"roles", "rbac.authorization.k8s.io", "v1", "Role", 1},
    {"rolebindings", "rbac.authorization.k8s.io", "v1", "RoleBinding", 1},
    {"clusterroles", "rbac.authorization.k8s.io", "v1", "ClusterRole", 0},
    {"clusterrolebindings", "rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", 0},
    {"tokenreviews", "authentication.k8s.io", "v1", "TokenReview", 0},
    {"subjectaccessreviews", "authorization.k8s.io", "v1", "SubjectAccessReview", 0},
    {"selfsubjectaccessreviews", "authorization.k8s.io", "v1", "SelfSubjectAccessReview", 0},
    {"certificatesigningrequests", "certificates.k8s.io", "v1", "CertificateSigningRequest", 0},
    {"ingresses", "networking.k8s.io", "v1", "Ingress", 1},
    {"networkpolicies", "networking.k8s.io", "v1", "NetworkPolicy", 1},
    {"horizontalpodautoscalers", "autoscaling", "v2", "HorizontalPodAutoscaler", 1},
    {"poddisruptionbudgets", "policy", "v1", "PodDisruptionBudget", 1},
    {"customresourcedefinitions", "apiextensions.k8s.io", "v1", "CustomResourceDefinition", 0},
    {"validatingwebhookconfigurations", "admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration", 0},
    {"mutatingwebhookconfigurations", "admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration", 0},
    {"csinodes", "storage.k8s.io", "v1", "CSINode", 0},
    {"csidrivers", "storage.k8s.io", "v1", "CSIDriver", 0},
    {"storageclasses", "storage.k8s.io", "v1", "StorageClass", 0},
    {"volumeattachments", "storage.k8s.io", "v1", "VolumeAttachment", 0},
    {"runtimeclasses", "node.k8s.io", "v1", "RuntimeClass", 0},
    {"applications", "argoproj.io", "v1alpha1", "Application", 1},
    {"certificates", "cert-manager.io", "v1", "Certificate", 1},
    {"servicemonitors", "monitoring.coreos.com", "v1", "ServiceMonitor", 1},
    {"nodeclaims", "karpenter.sh", "v1beta1", "NodeClaim", 0},
    {"eniconfigs", "crd.k8s.amazonaws.com", "v1alpha1", "ENIConfig", 0},
    {"flowschemas", "flowcontrol.apiserver.k8s.io", "v1", "FlowSchema", 0},
    {"priorityclasses", "scheduling.k8s.io", "v1", "PriorityClass", 0},
    {"externalsecrets", "external-secrets.io", "v1beta1", "ExternalSecret", 1},
    {"virtualservices", "networking.istio.io", "v1beta1", "VirtualService", 1},
};

static const res *res_by_name(const char *name)
{
    for (size_t i = 0; i < N_ELEM(RES); i++)
        if (strcmp(RES[i].name, name) == 0)
            return &RES[i];
    fprintf(stderr, "gen: unknown resource %s\n", name);
    exit(1);
}

/* ---- workloads -------------------------------------------------------- */

enum { SEC_RESTRICTED, SEC_PLAIN, SEC_ROOT_CAPS, SEC_PRIVILEGED };
enum { K_DEPLOY, K_DS, K_STS, K_JOB, K_CRONJOB, K_POD, K_RS };

typedef struct hostpath {
    const char *vol, *path, *mount, *type;
    int ro;
} hostpath;

typedef struct app {
    const char *name, *ns, *sa, *image, *tagfmt;
    int kind, sec, port, env, sidecar, init_priv, host_net, replicas;
    hostpath hp[6];
    const char *cpu, *mem;
} app;

static const app APPS[] = {
    {"payments-api", "payments", "payments-api", ACCOUNT ".dkr.ecr." REGION ".amazonaws.com/payments/payments-api", "v2.14.%d",
     K_DEPLOY, SEC_RESTRICTED, 8080, 18, 1, 0, 0, 4, {{0}}, "500m", "512Mi"},
    {"checkout-web", "checkout", "checkout-web", ACCOUNT ".dkr.ecr." REGION ".amazonaws.com/checkout/web", "3.8.%d",
     K_DEPLOY, SEC_RESTRICTED, 3000, 12, 0, 0, 0, 3, {{0}}, "250m", "256Mi"},
    {"catalog-svc", "catalog", "catalog-svc", ACCOUNT ".dkr.ecr." REGION ".amazonaws.com/catalog/catalog-svc", "1.22.%d",
     K_DEPLOY, SEC_RESTRICTED, 8080, 14, 1, 0, 0, 3, {{0}}, "1", "1Gi"},
    {"orders", "backend", "orders", ACCOUNT ".dkr.ecr." REGION ".amazonaws.com/backend/orders", "v5.3.%d",
     K_DEPLOY, SEC_RESTRICTED, 8443, 16, 0, 0, 0, 2, {{0}}, "500m", "768Mi"},
    {"web", "frontend", "default", "public.ecr.aws/nginx/nginx", "1.25.%d",
     K_DEPLOY, SEC_PLAIN, 80, 2, 0, 0, 0, 3, {{0}}, "100m", "128Mi"},
    {"search-indexer", "search", "search-indexer", "docker.elastic.co/elasticsearch/elasticsearch", "8.13.%d",
     K_STS, SEC_ROOT_CAPS, 9200, 5, 0, 1, 0, 3, {{0}}, "2", "4Gi"},
    {"redis", "catalog", "redis", "docker.io/bitnami/redis", "7.2.%d-debian-12-r9",
     K_STS, SEC_RESTRICTED, 6379, 3, 0, 0, 0, 1, {{0}}, "250m", "512Mi"},
    {"etl-runner", "data", "etl-runner", ACCOUNT ".dkr.ecr." REGION ".amazonaws.com/data/etl-runner", "2024.5.%d",
     K_CRONJOB, SEC_RESTRICTED, 0, 6, 0, 0, 0, 1, {{0}}, "1", "2Gi"},
    {"trainer", "ml-training", "trainer", "nvcr.io/nvidia/pytorch", "24.0%d-py3",
     K_JOB, SEC_PLAIN, 0, 5, 0, 0, 0, 1, {{0}}, "8", "32Gi"},
    {"fluent-bit", "logging", "fluent-bit", "public.ecr.aws/aws-observability/aws-for-fluent-bit", "2.32.%d",
     K_DS, SEC_PLAIN, 2020, 4, 0, 0, 0, 1,
     {{"varlog", "/var/log", "/var/log", "", 0},
      {"varlibdockercontainers", "/var/lib/docker/containers", "/var/lib/docker/containers", "", 1},
      {"etcmachineid", "/etc/machine-id", "/etc/machine-id", "File", 1}}, "100m", "256Mi"},
    {"node-exporter", "monitoring", "node-exporter", "quay.io/prometheus/node-exporter", "v1.7.%d",
     K_DS, SEC_RESTRICTED, 9100, 0, 0, 0, 1, 1,
     {{"proc", "/proc", "/host/proc", "", 1},
      {"sys", "/sys", "/host/sys", "", 1},
      {"root", "/", "/host/root", "", 1}}, "50m", "64Mi"},
    {"aws-node", "kube-system", "aws-node", "602401143452.dkr.ecr." REGION ".amazonaws.com/amazon-k8s-cni", "v1.18.%d-eksbuild.1",
     K_DS, SEC_ROOT_CAPS, 61678, 10, 0, 1, 1, 1,
     {{"cni-bin-dir", "/opt/cni/bin", "/host/opt/cni/bin", "", 0},
      {"cni-net-dir", "/etc/cni/net.d", "/host/etc/cni/net.d", "", 0},
      {"log-dir", "/var/log/aws-routed-eni", "/host/var/log/aws-routed-eni", "DirectoryOrCreate", 0},
      {"run-dir", "/var/run/aws-node", "/var/run/aws-node", "DirectoryOrCreate", 0},
      {"xtables-lock", "/run/xtables.lock", "/run/xtables.lock", "FileOrCreate", 0}}, "25m", "64Mi"},
    {"kube-proxy", "kube-system", "kube-proxy", "602401143452.dkr.ecr." REGION ".amazonaws.com/eks/kube-proxy", "v1.29.%d-minimal-eksbuild.2",
     K_DS, SEC_PRIVILEGED, 0, 1, 0, 0, 1, 1,
     {{"varlog", "/var/log", "/var/log", "", 0},
      {"xtables-lock", "/run/xtables.lock", "/run/xtables.lock", "FileOrCreate", 0},
      {"lib-modules", "/lib/modules", "/lib/modules", "", 1}}, "100m", "64Mi"},
    {"ebs-csi-node", "kube-system", "ebs-csi-node-sa", "public.ecr.aws/ebs-csi-driver/aws-ebs-csi-driver", "v1.30.%d",
     K_DS, SEC_PRIVILEGED, 9808, 3, 1, 0, 0, 1,
     {{"kubelet-dir", "/var/lib/kubelet", "/var/lib/kubelet", "Directory", 0},
      {"plugin-dir", "/var/lib/kubelet/plugins/ebs.csi.aws.com/", "/csi", "DirectoryOrCreate", 0},
      {"device-dir", "/dev", "/dev", "Directory", 0}}, "10m", "40Mi"},
    {"falco", "falco", "falco", "docker.io/falcosecurity/falco-no-driver", "0.37.%d",
     K_DS, SEC_PRIVILEGED, 8765, 3, 0, 0, 0, 1,
     {{"containerd-socket", "/run/containerd/containerd.sock", "/host/run/containerd/containerd.sock", "", 0},
      {"proc-fs", "/proc", "/host/proc", "", 1},
      {"etc-fs", "/etc", "/host/etc", "", 1},
      {"dev-fs", "/dev", "/host/dev", "", 1},
      {"lib-modules", "/lib/modules", "/host/lib/modules", "", 1}}, "100m", "512Mi"},
    {"coredns", "kube-system", "coredns", "602401143452.dkr.ecr." REGION ".amazonaws.com/eks/coredns", "v1.11.%d-eksbuild.9",
     K_DEPLOY, SEC_ROOT_CAPS, 53, 0, 0, 0, 0, 2, {{0}}, "100m", "70Mi"},
    {"ingress-nginx-controller", "ingress-nginx", "ingress-nginx", "registry.k8s.io/ingress-nginx/controller", "v1.10.%d",
     K_DEPLOY, SEC_ROOT_CAPS, 443, 4, 0, 0, 0, 2, {{0}}, "100m", "90Mi"},
    {"nightly-report", "data", "etl-runner", ACCOUNT ".dkr.ecr." REGION ".amazonaws.com/data/reports", "1.4.%d",
     K_CRONJOB, SEC_RESTRICTED, 0, 5, 0, 0, 0, 1, {{0}}, "500m", "1Gi"},
    {"legacy-batch", "default", "default", "docker.io/library/python", "3.1%d-slim",
     K_DEPLOY, SEC_PLAIN, 0, 4, 0, 0, 0, 1, {{0}}, "250m", "256Mi"},
};

static const app DEBUG_APP = {
    "node-debugger", "default", "default", "docker.io/library/busybox", "1.3%d",
    K_POD, SEC_PLAIN, 0, 0, 0, 0, 1, 1, {{"host-root", "/", "/host", "", 0}}, NULL, NULL};

static const char *app_kind_name(int k)
{
    static const char *n[] = {"Deployment", "DaemonSet", "StatefulSet", "Job", "CronJob", "Pod", "ReplicaSet"};
    return n[k];
}

static const char *app_resource(int k)
{
    static const char *n[] = {"deployments", "daemonsets", "statefulsets", "jobs", "cronjobs", "pods", "replicasets"};
    return n[k];
}

static void put_labels(sb *s, const app *a, const char *version)
{
    sb_putf(s, "{\"app.kubernetes.io/name\":\"%s\",\"app.kubernetes.io/instance\":\"%s\","
               "\"app.kubernetes.io/part-of\":\"%s\",\"app.kubernetes.io/version\":\"%s\","
               "\"app.kubernetes.io/managed-by\":\"Helm\",\"helm.sh/chart\":\"%s-%s\","
               "\"team\":\"%s\",\"cost-center\":\"cc-%d\"}",
            a->name, a->name, a->ns, version, a->name, version, a->ns, 4100 + (int)(strlen(a->name) * 7 % 90));
}

static void put_probe(sb *s, const char *key, int port, const char *path)
{
    sb_putf(s, ",\"%s\":{\"httpGet\":{\"path\":\"%s\",\"port\":%d,\"scheme\":\"HTTP\"},"
               "\"initialDelaySeconds\":%d,\"timeoutSeconds\":1,\"periodSeconds\":10,"
               "\"successThreshold\":1,\"failureThreshold\":3}",
            key, path, port, 5 + (int)bd_below(&R, 25));
}

static void put_container_sec(sb *s, int sec)
{
    switch (sec) {
    case SEC_RESTRICTED:
        sb_put(s, ",\"securityContext\":{\"capabilities\":{\"drop\":[\"ALL\"]},\"runAsNonRoot\":true,"
                  "\"readOnlyRootFilesystem\":true,\"allowPrivilegeEscalation\":false}");
        break;
    case SEC_ROOT_CAPS:
        sb_put(s, ",\"securityContext\":{\"capabilities\":{\"add\":[\"NET_ADMIN\",\"NET_BIND_SERVICE\"],"
                  "\"drop\":[\"ALL\"]},\"runAsUser\":0,\"allowPrivilegeEscalation\":true}");
        break;
    case SEC_PRIVILEGED:
        sb_put(s, ",\"securityContext\":{\"privileged\":true,\"runAsUser\":0}");
        break;
    default:
        break;
    }
}

/*
 * One container.  resp: the object as the API server returns it (defaults
 * filled in).
 */
static void put_container(sb *s, const app *a, const char *name, const char *image, int main,
                          int resp)
{
    static const char *envs[] = {"LOG_LEVEL", "OTEL_EXPORTER_OTLP_ENDPOINT", "AWS_REGION",
                                 "DB_HOST", "DB_PORT", "CACHE_URL", "FEATURE_FLAGS",
                                 "HTTP_TIMEOUT", "MAX_CONNECTIONS", "SPRING_PROFILES_ACTIVE",
                                 "GOMAXPROCS", "JAVA_TOOL_OPTIONS"};
    static const char *vals[] = {"info", "http://otel-collector.monitoring.svc:4317", REGION,
                                 "orders-db.cluster-c9akciq32.eu-west-1.rds.amazonaws.com", "5432",
                                 "redis://redis.catalog.svc.cluster.local:6379", "checkout-v2,fast-search",
                                 "30s", "200", "production", "2", "-XX:MaxRAMPercentage=75.0"};
    sb_putf(s, "{\"name\":\"%s\",\"image\":\"%s\"", name, image);
    if (main && a->kind == K_DS && a->hp[0].vol && strcmp(a->name, "fluent-bit") == 0)
        sb_put(s, ",\"args\":[\"--config=/fluent-bit/etc/fluent-bit.conf\",\"--storage_path=/var/log/flb-storage/\"]");
    else if (main && (a->kind == K_JOB || a->kind == K_CRONJOB))
        sb_putf(s, ",\"command\":[\"python\",\"-m\",\"%s.main\"],\"args\":[\"--date\",\"$(RUN_DATE)\",\"--bucket\",\"s3://%s-%s-artifacts\"]",
                a->name, CLUSTER, a->name);
    else if (!main)
        sb_put(s, ",\"args\":[\"--log-level=warn\",\"--admin-port=15000\"]");
    if (main && a->port)
        sb_putf(s, ",\"ports\":[{\"name\":\"http\",\"containerPort\":%d,\"protocol\":\"TCP\"},"
                   "{\"name\":\"metrics\",\"containerPort\":9090,\"protocol\":\"TCP\"}]", a->port);
    int ne = main ? a->env : 2;
    if (ne > 0 || main) {
        sb_put(s, ",\"env\":[");
        for (int i = 0; i < ne; i++) {
            if (i < (int)N_ELEM(envs))
                sb_putf(s, "%s{\"name\":\"%s\",\"value\":\"%s\"}", i ? "," : "", envs[i], vals[i]);
            else
                sb_putf(s, ",{\"name\":\"%s_%d\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"%s-config\","
                           "\"key\":\"%s_%d\",\"optional\":true}}}",
                        envs[i % N_ELEM(envs)], i, a->name, envs[i % N_ELEM(envs)], i);
        }
        sb_putf(s, "%s{\"name\":\"POD_NAME\",\"valueFrom\":{\"fieldRef\":{\"apiVersion\":\"v1\",\"fieldPath\":\"metadata.name\"}}},"
                   "{\"name\":\"NODE_NAME\",\"valueFrom\":{\"fieldRef\":{\"apiVersion\":\"v1\",\"fieldPath\":\"spec.nodeName\"}}}",
                ne ? "," : "");
        if (main && a->sec == SEC_RESTRICTED)
            sb_putf(s, ",{\"name\":\"DB_PASSWORD\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"%s-db\",\"key\":\"password\"}}}", a->name);
        sb_put(s, "]");
    }
    if (main && a->cpu)
        sb_putf(s, ",\"resources\":{\"limits\":{\"cpu\":\"%s\",\"memory\":\"%s\"%s},\"requests\":{\"cpu\":\"%s\",\"memory\":\"%s\"}}",
                a->cpu, a->mem, a->kind == K_JOB ? ",\"nvidia.com/gpu\":\"1\"" : "", a->cpu, a->mem);
    else if (!main)
        sb_put(s, ",\"resources\":{\"limits\":{\"cpu\":\"200m\",\"memory\":\"128Mi\"},\"requests\":{\"cpu\":\"50m\",\"memory\":\"64Mi\"}}");
    /* mounts */
    sb_put(s, ",\"volumeMounts\":[");
    int first = 1;
    if (main) {
        for (int i = 0; i < 6 && a->hp[i].vol; i++) {
            sb_putf(s, "%s{\"name\":\"%s\",\"mountPath\":\"%s\"%s%s}", first ? "" : ",", a->hp[i].vol,
                    a->hp[i].mount, a->hp[i].ro ? ",\"readOnly\":true" : "",
                    strcmp(a->name, "ebs-csi-node") == 0 && i == 0 ? ",\"mountPropagation\":\"Bidirectional\"" : "");
            first = 0;
        }
        if (a->kind != K_DS) {
            sb_putf(s, "%s{\"name\":\"config\",\"mountPath\":\"/etc/%s\",\"readOnly\":true}", first ? "" : ",", a->name);
            sb_put(s, ",{\"name\":\"tmp\",\"mountPath\":\"/tmp\"}");
            first = 0;
        }
    } else {
        sb_put(s, "{\"name\":\"tmp\",\"mountPath\":\"/tmp\"}");
        first = 0;
    }
    if (resp)
        sb_putf(s, "%s{\"name\":\"kube-api-access-%s\",\"readOnly\":true,\"mountPath\":\"/var/run/secrets/kubernetes.io/serviceaccount\"}",
                first ? "" : ",", "x7k2p");
    sb_put(s, "]");
    if (main && a->port && a->port != 53 && a->port != 443) {
        put_probe(s, "livenessProbe", a->port, "/healthz");
        put_probe(s, "readinessProbe", a->port, "/ready");
    }
    sb_put(s, ",\"terminationMessagePath\":\"/dev/termination-log\",\"terminationMessagePolicy\":\"File\","
              "\"imagePullPolicy\":\"IfNotPresent\"");
    put_container_sec(s, main ? a->sec : SEC_RESTRICTED);
    sb_put(s, "}");
}

static void put_pod_spec(sb *s, const app *a, const char *image, int resp, const char *node)
{
    sb_put(s, "{\"volumes\":[");
    int first = 1;
    for (int i = 0; i < 6 && a->hp[i].vol; i++) {
        sb_putf(s, "%s{\"name\":\"%s\",\"hostPath\":{\"path\":\"%s\"%s%s%s}}", first ? "" : ",",
                a->hp[i].vol, a->hp[i].path, *a->hp[i].type || resp ? ",\"type\":\"" : "",
                *a->hp[i].type ? a->hp[i].type : "", *a->hp[i].type || resp ? "\"" : "");
        first = 0;
    }
    if (a->kind != K_DS && a->kind != K_POD) {
        sb_putf(s, "%s{\"name\":\"config\",\"configMap\":{\"name\":\"%s-config\"%s}},"
                   "{\"name\":\"tmp\",\"emptyDir\":{\"sizeLimit\":\"256Mi\"}}",
                first ? "" : ",", a->name, resp ? ",\"defaultMode\":420" : "");
        first = 0;
    }
    if (resp)
        sb_putf(s, "%s{\"name\":\"kube-api-access-x7k2p\",\"projected\":{\"sources\":[{\"serviceAccountToken\":"
                   "{\"expirationSeconds\":3607,\"path\":\"token\"}},{\"configMap\":{\"name\":\"kube-root-ca.crt\","
                   "\"items\":[{\"key\":\"ca.crt\",\"path\":\"ca.crt\"}]}},{\"downwardAPI\":{\"items\":[{\"path\":"
                   "\"namespace\",\"fieldRef\":{\"apiVersion\":\"v1\",\"fieldPath\":\"metadata.namespace\"}}]}}],"
                   "\"defaultMode\":420}}",
                first ? "" : ",");
    sb_put(s, "]");
    if (a->init_priv)
        sb_putf(s, ",\"initContainers\":[{\"name\":\"%s-init\",\"image\":\"%s\",\"command\":[\"sh\",\"-c\","
                   "\"sysctl -w vm.max_map_count=262144 && sysctl -w net.ipv4.conf.all.rp_filter=1\"],"
                   "\"resources\":{},\"terminationMessagePath\":\"/dev/termination-log\","
                   "\"terminationMessagePolicy\":\"File\",\"imagePullPolicy\":\"IfNotPresent\","
                   "\"securityContext\":{\"privileged\":true}}]",
                a->name, image);
    sb_put(s, ",\"containers\":[");
    if (a->kind == K_POD) {
        sb_putf(s, "{\"name\":\"debugger\",\"image\":\"%s\",\"resources\":{},\"volumeMounts\":[{\"name\":\"host-root\",\"mountPath\":\"/host\"}],"
                   "\"terminationMessagePath\":\"/dev/termination-log\",\"terminationMessagePolicy\":\"File\","
                   "\"imagePullPolicy\":\"IfNotPresent\",\"stdin\":true,\"tty\":true}",
                image);
    } else {
        put_container(s, a, a->kind == K_DS ? a->name : "app", image, 1, resp);
        if (a->sidecar) {
            sb_put(s, ",");
            put_container(s, a, "envoy", "public.ecr.aws/appmesh/aws-appmesh-envoy:v1.27.3.0-prod", 0, resp);
        }
    }
    sb_put(s, "]");
    sb_putf(s, ",\"restartPolicy\":\"%s\",\"terminationGracePeriodSeconds\":%d,\"dnsPolicy\":\"%s\"",
            a->kind == K_JOB || a->kind == K_CRONJOB ? "OnFailure" : a->kind == K_POD ? "Never" : "Always",
            a->kind == K_DS ? 10 : 30, a->host_net ? "ClusterFirstWithHostNet" : "ClusterFirst");
    if (a->kind != K_POD)
        sb_putf(s, ",\"serviceAccountName\":\"%s\"%s%s%s", a->sa, resp ? ",\"serviceAccount\":\"" : "",
                resp ? a->sa : "", resp ? "\"" : "");
    if (node)
        sb_putf(s, ",\"nodeName\":\"%s\"", node);
    if (a->host_net)
        sb_put(s, ",\"hostNetwork\":true,\"hostPID\":true");
    if (a->kind == K_DS)
        sb_put(s, ",\"nodeSelector\":{\"kubernetes.io/os\":\"linux\"}");
    else
        sb_put(s, ",\"nodeSelector\":{\"kubernetes.io/os\":\"linux\",\"karpenter.sh/capacity-type\":\"on-demand\"}");
    if (a->sec == SEC_RESTRICTED)
        sb_put(s, ",\"securityContext\":{\"runAsUser\":10001,\"runAsGroup\":10001,\"runAsNonRoot\":true,"
                  "\"fsGroup\":10001,\"seccompProfile\":{\"type\":\"RuntimeDefault\"}}");
    else
        sb_put(s, ",\"securityContext\":{}");
    if (a->kind == K_DEPLOY || a->kind == K_STS)
        sb_putf(s, ",\"affinity\":{\"podAntiAffinity\":{\"preferredDuringSchedulingIgnoredDuringExecution\":"
                   "[{\"weight\":100,\"podAffinityTerm\":{\"labelSelector\":{\"matchLabels\":"
                   "{\"app.kubernetes.io/name\":\"%s\"}},\"topologyKey\":\"topology.kubernetes.io/zone\"}}]}}",
                a->name);
    sb_put(s, ",\"schedulerName\":\"default-scheduler\"");
    if (a->kind == K_DS)
        sb_put(s, ",\"tolerations\":[{\"operator\":\"Exists\"}],\"priorityClassName\":\"system-node-critical\"");
    else if (resp)
        sb_put(s, ",\"tolerations\":[{\"key\":\"node.kubernetes.io/not-ready\",\"operator\":\"Exists\","
                  "\"effect\":\"NoExecute\",\"tolerationSeconds\":300},{\"key\":\"node.kubernetes.io/unreachable\","
                  "\"operator\":\"Exists\",\"effect\":\"NoExecute\",\"tolerationSeconds\":300}]");
    if (resp)
        sb_putf(s, ",\"priority\":%s,\"enableServiceLinks\":true,\"preemptionPolicy\":\"PreemptLowerPriority\"",
                a->kind == K_DS ? "2000001000" : "0");
    sb_put(s, "}");
}

static void put_meta(sb *s, const char *name, const char *gen_name, const app *a, const char *version,
                     int resp, const char *owner_kind, const char *owner_name, const char *extra_ann)
{
    char uid[37], ts[40];
    sb_put(s, "\"metadata\":{");
    if (name)
        sb_putf(s, "\"name\":\"%s\",", name);
    if (gen_name)
        sb_putf(s, "\"generateName\":\"%s\",", gen_name);
    sb_putf(s, "\"namespace\":\"%s\",", a->ns);
    if (resp) {
        uuid(uid);
        fmt_time(NOW_US, ts, 0);
        sb_putf(s, "\"uid\":\"%s\",\"resourceVersion\":\"%u\",\"generation\":1,\"creationTimestamp\":\"%s\",",
                uid, 40000000u + (unsigned)bd_below(&R, 9000000), ts);
    } else {
        sb_put(s, "\"creationTimestamp\":null,");
    }
    sb_put(s, "\"labels\":");
    put_labels(s, a, version);
    if (extra_ann)
        sb_putf(s, ",\"annotations\":{%s}", extra_ann);
    if (owner_kind) {
        uuid(uid);
        sb_putf(s, ",\"ownerReferences\":[{\"apiVersion\":\"%s\",\"kind\":\"%s\",\"name\":\"%s\",\"uid\":\"%s\","
                   "\"controller\":true,\"blockOwnerDeletion\":true}]",
                strcmp(owner_kind, "Job") == 0 ? "batch/v1" : "apps/v1", owner_kind, owner_name, uid);
    }
    if (resp) {
        fmt_time(NOW_US, ts, 0);
        sb_putf(s, ",\"managedFields\":[{\"manager\":\"%s\",\"operation\":\"Update\",\"apiVersion\":\"%s\","
                   "\"time\":\"%s\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:metadata\":{\"f:labels\":{\".\":{},"
                   "\"f:app.kubernetes.io/instance\":{},\"f:app.kubernetes.io/name\":{},\"f:app.kubernetes.io/part-of\":{},"
                   "\"f:app.kubernetes.io/version\":{}}},\"f:spec\":{\"f:progressDeadlineSeconds\":{},\"f:replicas\":{},"
                   "\"f:revisionHistoryLimit\":{},\"f:selector\":{},\"f:strategy\":{\"f:rollingUpdate\":{\".\":{},"
                   "\"f:maxSurge\":{},\"f:maxUnavailable\":{}},\"f:type\":{}},\"f:template\":{\"f:metadata\":"
                   "{\"f:annotations\":{\".\":{},\"f:checksum/config\":{},\"f:checksum/secret\":{}},\"f:labels\":"
                   "{\".\":{},\"f:app.kubernetes.io/name\":{}}},\"f:spec\":{\"f:containers\":{\"k:{\\\"name\\\":"
                   "\\\"app\\\"}\":{\".\":{},\"f:env\":{},\"f:image\":{},\"f:imagePullPolicy\":{},"
                   "\"f:livenessProbe\":{},\"f:name\":{},\"f:ports\":{},\"f:readinessProbe\":{},\"f:resources\":{},"
                   "\"f:securityContext\":{},\"f:terminationMessagePath\":{},\"f:terminationMessagePolicy\":{},"
                   "\"f:volumeMounts\":{}}},\"f:dnsPolicy\":{},\"f:restartPolicy\":{},\"f:schedulerName\":{},"
                   "\"f:securityContext\":{},\"f:serviceAccount\":{},\"f:serviceAccountName\":{},"
                   "\"f:terminationGracePeriodSeconds\":{},\"f:volumes\":{}}}}}}]",
                owner_kind ? "kube-controller-manager" : "kubectl-client-side-apply",
                owner_kind ? "v1" : "apps/v1", ts);
    }
    sb_put(s, "}");
}

/*
 * A workload object (the body of a create/update, or the responseObject).
 * kind K_POD with owner: a controller-created pod of app a.
 */
static void put_workload(sb *s, const app *a, int kind, const char *image, const char *version,
                         int resp, int applied, const char *owner_kind, const char *owner_name,
                         const char *pod_name_prefix)
{
    char ann[2048] = "";
    static sb ann_dyn;
    if (kind == K_POD) {
        sb_put(s, "{\"kind\":\"Pod\",\"apiVersion\":\"v1\",");
        if (a->port)
            snprintf(ann, sizeof ann, "\"prometheus.io/scrape\":\"true\",\"prometheus.io/port\":\"9090\"");
        put_meta(s, NULL, pod_name_prefix, a, version, resp, owner_kind, owner_name, *ann ? ann : NULL);
        sb_put(s, ",\"spec\":");
        put_pod_spec(s, a, image, resp, NULL);
        sb_put(s, resp ? ",\"status\":{\"phase\":\"Pending\",\"qosClass\":\"Burstable\"}}" : ",\"status\":{}}");
        return;
    }
    sb_putf(s, "{\"kind\":\"%s\",\"apiVersion\":\"%s\",", app_kind_name(kind),
            kind == K_JOB || kind == K_CRONJOB ? "batch/v1" : "apps/v1");
    if (applied) {
        /* kubectl apply keeps the whole manifest in an annotation: the
         * object as sent, as an escaped JSON string */
        sb man = {0};
        const char *prefix = "\"kubectl.kubernetes.io/last-applied-configuration\":\"";
        put_workload(&man, a, kind, image, version, 0, 0, NULL, NULL, NULL);
        ann_dyn.len = 0;
        sb_put(&ann_dyn, prefix);
        for (size_t k = 0; k < man.len; k++) {
            char c[3] = {man.p[k], 0, 0};
            if (c[0] == '"' || c[0] == '\\') {
                c[1] = c[0];
                c[0] = '\\';
            }
            sb_put(&ann_dyn, c);
        }
        sb_put(&ann_dyn, "\\n\"");
        free(man.p);
    } else {
        snprintf(ann, sizeof ann, "\"argocd.argoproj.io/tracking-id\":\"%s:%s/%s:%s/%s\"", a->ns,
                 kind == K_JOB || kind == K_CRONJOB ? "batch" : "apps", app_kind_name(kind), a->ns, a->name);
    }
    put_meta(s, kind == K_RS ? pod_name_prefix : a->name, NULL, a, version, resp, owner_kind, owner_name,
             kind == K_RS ? "\"deployment.kubernetes.io/desired-replicas\":\"3\",\"deployment.kubernetes.io/max-replicas\":\"4\",\"deployment.kubernetes.io/revision\":\"7\""
             : applied ? ann_dyn.p : ann);
    sb_put(s, ",\"spec\":{");
    if (kind == K_CRONJOB)
        sb_putf(s, "\"schedule\":\"%d 2 * * *\",\"concurrencyPolicy\":\"Forbid\",\"suspend\":false,"
                   "\"successfulJobsHistoryLimit\":3,\"failedJobsHistoryLimit\":1,\"jobTemplate\":"
                   "{\"metadata\":{\"creationTimestamp\":null},\"spec\":{\"backoffLimit\":2,\"template\":",
                (int)bd_below(&R, 60));
    else if (kind == K_JOB)
        sb_put(s, "\"parallelism\":1,\"completions\":1,\"backoffLimit\":4,\"template\":");
    else {
        if (kind != K_DS)
            sb_putf(s, "\"replicas\":%d,", a->replicas);
        if (kind == K_RS)
            sb_put(s, "\"selector\":{\"matchLabels\":{\"pod-template-hash\":\"7d4f8c9b6\",");
        sb_putf(s, "%s\"app.kubernetes.io/name\":\"%s\"}},", kind == K_RS ? "" : "\"selector\":{\"matchLabels\":{", a->name);
        if (kind == K_STS)
            sb_putf(s, "\"serviceName\":\"%s-headless\",\"podManagementPolicy\":\"Parallel\",", a->name);
        sb_put(s, "\"template\":");
    }
    sb_put(s, "{\"metadata\":{\"creationTimestamp\":null,\"labels\":");
    put_labels(s, a, version);
    {
        char c1[65], c2[65];
        hexstr(c1, 64);
        hexstr(c2, 64);
        sb_putf(s, ",\"annotations\":{\"checksum/config\":\"%s\",\"checksum/secret\":\"%s\"%s}", c1, c2,
                a->port ? ",\"prometheus.io/scrape\":\"true\",\"prometheus.io/port\":\"9090\"" : "");
    }
    sb_put(s, "},\"spec\":");
    put_pod_spec(s, a, image, resp, NULL);
    sb_put(s, "}");
    if (kind == K_CRONJOB)
        sb_put(s, "}}");
    if (kind == K_DEPLOY)
        sb_put(s, ",\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxUnavailable\":\"25%\","
                  "\"maxSurge\":\"25%\"}},\"revisionHistoryLimit\":10,\"progressDeadlineSeconds\":600");
    else if (kind == K_DS)
        sb_put(s, ",\"updateStrategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxUnavailable\":\"10%\","
                  "\"maxSurge\":0}},\"revisionHistoryLimit\":10");
    else if (kind == K_STS)
        sb_putf(s, ",\"volumeClaimTemplates\":[{\"kind\":\"PersistentVolumeClaim\",\"apiVersion\":\"v1\",\"metadata\":"
                   "{\"name\":\"data\",\"creationTimestamp\":null},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],"
                   "\"storageClassName\":\"gp3\",\"resources\":{\"requests\":{\"storage\":\"%dGi\"}}},\"status\":{}}]",
                50 + 50 * (int)bd_below(&R, 4));
    if (resp) {
        char ts[40];
        fmt_time(NOW_US, ts, 0);
        sb_putf(s, "},\"status\":{\"observedGeneration\":1,\"replicas\":%d,\"updatedReplicas\":%d,"
                   "\"readyReplicas\":%d,\"availableReplicas\":%d,\"conditions\":[{\"type\":\"Available\","
                   "\"status\":\"True\",\"lastUpdateTime\":\"%s\",\"lastTransitionTime\":\"%s\","
                   "\"reason\":\"MinimumReplicasAvailable\",\"message\":\"Deployment has minimum availability.\"},"
                   "{\"type\":\"Progressing\",\"status\":\"True\",\"lastUpdateTime\":\"%s\","
                   "\"lastTransitionTime\":\"%s\",\"reason\":\"NewReplicaSetAvailable\","
                   "\"message\":\"ReplicaSet \\\"%s-7d4f8c9b6\\\" has successfully progressed.\"}]}}",
                a->replicas, a->replicas, a->replicas, a->replicas, ts, ts, ts, ts, a->name);
    } else {
        sb_put(s, "},\"status\":{}}");
    }
}

/* ---- requests and events ---------------------------------------------- */

enum { L_METADATA, L_REQUEST, L_REQUESTRESPONSE };
enum { B_NONE, B_WORKLOAD, B_PATCH, B_RB, B_SVC, B_NODESTATUS, B_PODSTATUS };

typedef struct req {
    const user *u;
    char ips[3][64];
    int nip;
    const char *ua;
    const char *verb;
    const res *r;
    const char *sub;
    char ns[64], name[200];
    char obj_uid[40];
    unsigned obj_rv;
    char uri[1024];
    int code;
    int forbid;
    char reason[400];
    int level;
    int long_running;
    int body;
    /* workload bodies */
    const app *app;
    int wkind;
    char image[200], version[48];
    int applied;
    const char *owner_kind;
    char owner_name[128];
    char gen_name[128];
    /* patches, bindings, services */
    int patch_kind;
    int rb_kind;
    int svc_kind;
    int hit;
    int psa;
    char impersonate[200];
} req;

static const char *LEVEL_NAME[] = {"Metadata", "Request", "RequestResponse"};

/* request URI of a resource request */
static void build_uri2(req *q, const char *tail, const char *query)
{
    const res *r = q->r;
    int n;
    if (*r->group)
        n = snprintf(q->uri, sizeof q->uri, "/apis/%s/%s", r->group, r->version);
    else
        n = snprintf(q->uri, sizeof q->uri, "/api/v1");
    if (r->namespaced && *q->ns)
        n += snprintf(q->uri + n, sizeof q->uri - (size_t)n, "/namespaces/%s", q->ns);
    n += snprintf(q->uri + n, sizeof q->uri - (size_t)n, "/%s", r->name);
    if (*q->name)
        n += snprintf(q->uri + n, sizeof q->uri - (size_t)n, "/%s", q->name);
    if (q->sub)
        n += snprintf(q->uri + n, sizeof q->uri - (size_t)n, "/%s", q->sub);
    if (tail)
        n += snprintf(q->uri + n, sizeof q->uri - (size_t)n, "%s", tail);
    if (query && *query)
        snprintf(q->uri + n, sizeof q->uri - (size_t)n, "?%s", query);
}

static void build_uri(req *q, const char *query) { build_uri2(q, NULL, query); }

static void default_query(req *q, char *out, size_t n)
{
    const char *v = q->verb;
    *out = 0;
    if (strcmp(v, "watch") == 0) {
        int t = 300 + (int)bd_below(&R, 300);
        snprintf(out, n, "allowWatchBookmarks=true&resourceVersion=%u&timeout=%dm%ds&timeoutSeconds=%d&watch=true",
                 40000000u + (unsigned)bd_below(&R, 9000000), t / 60, t % 60, t);
        q->long_running = 1;
    } else if (strcmp(v, "list") == 0) {
        switch (bd_below(&R, 4)) {
        case 0: snprintf(out, n, "limit=500&resourceVersion=0"); break;
        case 1: snprintf(out, n, "limit=500"); break;
        case 2: snprintf(out, n, "resourceVersion=%u", 40000000u + (unsigned)bd_below(&R, 9000000)); break;
        default: break;
        }
    } else if (strcmp(v, "get") == 0) {
        if (bd_pct(&R, 40))
            snprintf(out, n, "timeout=10s");
    } else if (strcmp(v, "update") == 0 || strcmp(v, "create") == 0) {
        if (q->u->kind == U_HUMAN || q->u->kind == U_CI)
            snprintf(out, n, "fieldManager=kubectl-client-side-apply&fieldValidation=Strict");
        else if (bd_pct(&R, 50))
            snprintf(out, n, "timeout=10s");
    } else if (strcmp(v, "patch") == 0) {
        if (q->u->kind == U_HUMAN || q->u->kind == U_CI)
            snprintf(out, n, "fieldManager=kubectl-client-side-apply&fieldValidation=Strict");
        else
            snprintf(out, n, "timeout=10s");
    }
}

static void set_caller(req *q, const user *u)
{
    q->u = u;
    q->ua = u->ua;
    q->nip = 1;
    snprintf(q->ips[0], 64, "%s", u->ip);
    if (*u->ip2) {
        snprintf(q->ips[1], 64, "%s", u->ip2);
        q->nip = 2;
    }
}

/* A resource request; name may be NULL (collection), ns NULL (cluster scope). */
static void act(req *q, const char *verb, const char *resource, const char *sub, const char *ns,
                const char *name)
{
    char query[512];
    q->verb = verb;
    q->r = res_by_name(resource);
    q->sub = sub;
    snprintf(q->ns, sizeof q->ns, "%s", q->r->namespaced && ns ? ns : "");
    snprintf(q->name, sizeof q->name, "%s", name ? name : "");
    q->code = strcmp(verb, "create") == 0 ? 201 : 200;
    q->obj_uid[0] = 0;
    if (name && (strcmp(verb, "update") == 0 || (strcmp(verb, "patch") == 0 && bd_pct(&R, 30)))) {
        uuid(q->obj_uid);
        q->obj_rv = 40000000u + (unsigned)bd_below(&R, 9000000);
    }
    default_query(q, query, sizeof query);
    build_uri(q, query);
}

static void nonresource(req *q, const char *path)
{
    q->verb = "get";
    q->r = NULL;
    snprintf(q->uri, sizeof q->uri, "%s", path);
    q->code = 200;
}

/* a plausible object name for resource r in namespace ns */
static void obj_name(const char *resource, const char *ns, char *out, size_t n)
{
    char sfx[8], sfx2[12];
    alnum(sfx, 5);
    alnum(sfx2, 10);
    if (strcmp(resource, "pods") == 0) {
        static const char *p[] = {"payments-api-7d4f8c9b6", "checkout-web-5c8d7f9b4", "catalog-svc-6b9c8d7f5",
                                  "orders-7f6d9c8b5", "web-6f9d8c7b5", "coredns-5b8cc885bc", "aws-node",
                                  "kube-proxy", "fluent-bit", "ebs-csi-node", "prometheus-k8s"};
        snprintf(out, n, "%s-%s", PICK(p), sfx);
    } else if (strcmp(resource, "secrets") == 0) {
        static const char *p[] = {"db-credentials", "tls-cert", "api-keys", "sh.helm.release.v1.app.v12",
                                  "registry-pull-secret", "stripe-webhook", "oauth-client"};
        snprintf(out, n, "%s", PICK(p));
    } else if (strcmp(resource, "configmaps") == 0) {
        static const char *p[] = {"kube-root-ca.crt", "app-config", "aws-auth", "coredns",
                                  "kube-proxy-config", "fluent-bit-config", "feature-flags",
                                  "istio-ca-root-cert", "cluster-info"};
        snprintf(out, n, "%s", PICK(p));
    } else if (strcmp(resource, "nodes") == 0) {
        snprintf(out, n, "%s", NODE_NAME[bd_below(&R, N_NODES)]);
    } else if (strcmp(resource, "namespaces") == 0) {
        snprintf(out, n, "%s", bd_pct(&R, 50) ? PICK(APP_NS) : PICK(SYS_NS));
    } else if (strcmp(resource, "leases") == 0) {
        static const char *p[] = {"kube-controller-manager", "kube-scheduler", "cloud-controller-manager",
                                  "cert-manager-controller", "ingress-nginx-leader", "karpenter-leader-election",
                                  "external-secrets-controller", "ebs-csi-aws-com", "eks-certificates-controller"};
        snprintf(out, n, "%s", PICK(p));
    } else if (strcmp(resource, "serviceaccounts") == 0) {
        static const char *p[] = {"default", "payments-api", "aws-node", "ebs-csi-controller-sa",
                                  "fluent-bit", "coredns", "checkout-web"};
        snprintf(out, n, "%s", PICK(p));
    } else if (strcmp(resource, "endpointslices") == 0) {
        static const char *p[] = {"kubernetes", "payments-api", "checkout-web", "catalog-svc", "kube-dns",
                                  "orders", "web", "ingress-nginx-controller"};
        snprintf(out, n, "%s-%s", PICK(p), sfx);
    } else {
        static const char *p[] = {"payments-api", "checkout-web", "catalog-svc", "orders", "web",
                                  "search-indexer", "redis", "etl-runner", "main", "platform"};
        (void)ns;
        snprintf(out, n, "%s", PICK(p));
    }
}

/* a random read of resource res by user u */
static void read_any(req *q, const char *resource, const char *ns)
{
    char name[200];
    unsigned v = bd_below(&R, 10);
    if (v < 5) {
        obj_name(resource, ns, name, sizeof name);
        act(q, "get", resource, NULL, ns, name);
    } else if (v < 8) {
        act(q, "list", resource, NULL, ns, NULL);
    } else {
        act(q, "watch", resource, NULL, ns, NULL);
    }
}

/* ---- actor behaviour -------------------------------------------------- */

static void kubelet_request(req *q, const user *u)
{
    char name[200];
    const char *node = NODE_NAME[u->node];
    unsigned v = bd_below(&R, 100);
    set_caller(q, u);
    snprintf(q->reason, sizeof q->reason, "%s", "");
    if (v < 30) {
        act(q, "update", "leases", NULL, "kube-node-lease", node);
        build_uri(q, "timeout=10s");
    } else if (v < 38) {
        act(q, "get", "leases", NULL, "kube-node-lease", node);
    } else if (v < 50) {
        /* kube-up style policies log kubelet status patches at Request level */
        act(q, "patch", "nodes", "status", NULL, node);
        q->level = L_REQUEST;
        q->body = B_NODESTATUS;
    } else if (v < 57) {
        act(q, "get", "nodes", NULL, NULL, node);
    } else if (v < 67) {
        const char *ns = bd_pct(&R, 50) ? PICK(APP_NS) : PICK(SYS_NS);
        obj_name("pods", ns, name, sizeof name);
        act(q, "patch", "pods", "status", ns, name);
        q->level = L_REQUEST;
        q->body = B_PODSTATUS;
    } else if (v < 74) {
        const char *ns = bd_pct(&R, 50) ? PICK(APP_NS) : PICK(SYS_NS);
        obj_name("pods", ns, name, sizeof name);
        act(q, "get", "pods", NULL, ns, name);
    } else if (v < 80) {
        const char *ns = bd_pct(&R, 50) ? PICK(APP_NS) : PICK(SYS_NS);
        obj_name("serviceaccounts", ns, name, sizeof name);
        act(q, "create", "serviceaccounts", "token", ns, name);
    } else if (v < 88) {
        const char *ns = bd_pct(&R, 50) ? PICK(APP_NS) : PICK(SYS_NS);
        const char *r = bd_pct(&R, 50) ? "configmaps" : "secrets";
        char query[256];
        obj_name(r, ns, name, sizeof name);
        act(q, bd_pct(&R, 60) ? "watch" : "list", r, NULL, ns, NULL);
        if (strcmp(q->verb, "watch") == 0)
            snprintf(query, sizeof query, "allowWatchBookmarks=true&fieldSelector=metadata.name%%3D%s&resourceVersion=%u&timeout=7m18s&timeoutSeconds=438&watch=true",
                     name, 40000000u + (unsigned)bd_below(&R, 9000000));
        else
            snprintf(query, sizeof query, "fieldSelector=metadata.name%%3D%s&limit=500&resourceVersion=0", name);
        q->name[0] = 0;
        build_uri(q, query);
    } else if (v < 93) {
        const char *ns = bd_pct(&R, 50) ? PICK(APP_NS) : PICK(SYS_NS);
        act(q, "create", "events", NULL, ns, NULL);
    } else {
        static const char *r[] = {"services", "nodes", "csidrivers", "runtimeclasses", "pods"};
        const char *res = PICK(r);
        act(q, "watch", res, NULL, NULL, NULL);
        if (strcmp(res, "pods") == 0) {
            char query[256];
            snprintf(query, sizeof query, "allowWatchBookmarks=true&fieldSelector=spec.nodeName%%3D%s&resourceVersion=%u&timeoutSeconds=527&watch=true",
                     node, 40000000u + (unsigned)bd_below(&R, 9000000));
            build_uri(q, query);
        }
    }
}

static void rbac_reason(req *q, const char *binding, const char *role, const char *subject)
{
    snprintf(q->reason, sizeof q->reason,
             "RBAC: allowed by ClusterRoleBinding \\\"%s\\\" of ClusterRole \\\"%s\\\" to %s", binding, role,
             subject);
}

static void control_plane_request(req *q)
{
    char name[200];
    unsigned v = bd_below(&R, 100);
    if (v < 55) {
        /* controllers */
        const user *u = &CTRLS[bd_below(&R, (uint32_t)N_CTRLS)];
        const char *c = strrchr(u->name, ':') + 1;
        char subj[200];
        set_caller(q, u);
        snprintf(subj, sizeof subj, "ServiceAccount \\\"%s/kube-system\\\"", c);
        char binding[128];
        snprintf(binding, sizeof binding, "system:controller:%s", c);
        rbac_reason(q, binding, binding, subj);
        unsigned w = bd_below(&R, 100);
        const char *ns = bd_pct(&R, 60) ? PICK(APP_NS) : PICK(SYS_NS);
        if (w < 25) {
            obj_name("endpointslices", ns, name, sizeof name);
            act(q, "update", "endpointslices", NULL, ns, name);
        } else if (w < 40) {
            act(q, "create", "events", NULL, ns, NULL);
        } else if (w < 60) {
            static const char *r[] = {"pods", "replicasets", "deployments", "daemonsets", "statefulsets",
                                      "jobs", "cronjobs", "endpointslices", "services", "namespaces",
                                      "nodes", "persistentvolumeclaims", "serviceaccounts", "secrets", "configmaps"};
            act(q, bd_pct(&R, 70) ? "watch" : "list", PICK(r), NULL, NULL, NULL);
        } else if (w < 75) {
            static const char *r[] = {"deployments", "replicasets", "daemonsets", "statefulsets", "jobs"};
            const char *res = PICK(r);
            obj_name(res, ns, name, sizeof name);
            act(q, "update", res, "status", ns, name);
        } else if (w < 85) {
            static const char *r[] = {"pods", "replicasets", "deployments", "configmaps", "serviceaccounts", "secrets"};
            const char *res = PICK(r);
            obj_name(res, ns, name, sizeof name);
            act(q, "get", res, NULL, ns, name);
        } else if (w < 92) {
            obj_name("nodes", NULL, name, sizeof name);
            act(q, "patch", "nodes", NULL, NULL, name);
        } else {
            obj_name("pods", ns, name, sizeof name);
            act(q, "delete", "pods", NULL, ns, name);
        }
        return;
    }
    const user *u = &CPS[bd_below(&R, (uint32_t)N_CPS)];
    set_caller(q, u);
    snprintf(q->reason, sizeof q->reason, "%s", "");
    if (strcmp(u->name, "system:apiserver") == 0) {
        unsigned w = bd_below(&R, 4);
        if (w == 0)
            act(q, "get", "namespaces", NULL, NULL, "kube-system");
        else if (w == 1)
            act(q, "list", "flowschemas", NULL, NULL, NULL);
        else if (w == 2)
            act(q, "get", "services", NULL, "default", "kubernetes");
        else
            act(q, "update", "leases", NULL, "kube-system", "apiserver-7dk3m2xq5bfr4vyzq7t3hzp4iq");
        return;
    }
    if (v < 80) {
        obj_name("leases", "kube-system", name, sizeof name);
        act(q, bd_pct(&R, 50) ? "get" : "update", "leases", NULL, "kube-system", name);
    } else if (v < 88) {
        act(q, "create", bd_pct(&R, 50) ? "tokenreviews" : "subjectaccessreviews", NULL, NULL, NULL);
    } else if (v < 94) {
        obj_name("configmaps", "kube-system", name, sizeof name);
        act(q, "get", "configmaps", NULL, "kube-system", name);
    } else {
        static const char *r[] = {"nodes", "pods", "services", "csinodes", "persistentvolumes",
                                  "storageclasses", "poddisruptionbudgets", "certificatesigningrequests"};
        act(q, "watch", PICK(r), NULL, NULL, NULL);
    }
}

static void sa_request(req *q, const user *u)
{
    char name[200];
    unsigned v = bd_below(&R, 100);
    set_caller(q, u);
    {
        const char *sa = strrchr(u->name, ':') + 1;
        char subj[200], binding[128];
        snprintf(subj, sizeof subj, "ServiceAccount \\\"%s/%s\\\"", sa, u->ns);
        snprintf(binding, sizeof binding, "%s", sa);
        rbac_reason(q, binding, binding, subj);
    }
    switch (u->profile) {
    case P_AWSNODE:
        if (v < 35) {
            obj_name("pods", "kube-system", name, sizeof name);
            act(q, v < 20 ? "get" : "patch", "pods", NULL, bd_pct(&R, 50) ? PICK(APP_NS) : "kube-system", name);
        } else if (v < 55) {
            act(q, "get", "nodes", NULL, NULL, NODE_NAME[u->node]);
        } else if (v < 75) {
            act(q, "list", "eniconfigs", NULL, NULL, NULL);
        } else {
            act(q, "watch", v < 90 ? "pods" : "nodes", NULL, NULL, NULL);
        }
        break;
    case P_KUBEPROXY:
        read_any(q, v < 40 ? "endpointslices" : v < 80 ? "services" : "nodes", NULL);
        break;
    case P_COREDNS:
        read_any(q, v < 40 ? "endpointslices" : v < 75 ? "services" : "namespaces", NULL);
        if (strcmp(q->verb, "get") == 0)
            act(q, "list", q->r->name, NULL, NULL, NULL);
        break;
    case P_CSI:
        if (v < 40) {
            act(q, bd_pct(&R, 50) ? "get" : "update", "leases", NULL, "kube-system", "ebs-csi-aws-com");
        } else if (v < 70) {
            read_any(q, v < 55 ? "persistentvolumes" : "volumeattachments", NULL);
        } else {
            read_any(q, "persistentvolumeclaims", NULL);
        }
        break;
    case P_METRICS:
        if (v < 45)
            act(q, "create", v < 25 ? "subjectaccessreviews" : "tokenreviews", NULL, NULL, NULL);
        else if (v < 80)
            act(q, "get", "nodes", "proxy", NULL, NODE_NAME[bd_below(&R, N_NODES)]);
        else
            act(q, "list", "nodes", NULL, NULL, NULL);
        if (v >= 45 && v < 80)
            build_uri2(q, "/metrics/resource", NULL);
        break;
    case P_PROM:
        if (v < 60) {
            act(q, v < 30 ? "list" : "watch", v % 3 == 0 ? "pods" : v % 3 == 1 ? "endpoints" : "services", NULL,
                PICK(APP_NS), NULL);
        } else if (v < 85) {
            act(q, "get", "nodes", "proxy", NULL, NODE_NAME[bd_below(&R, N_NODES)]);
            build_uri2(q, "/metrics/cadvisor", NULL);
        } else {
            read_any(q, "servicemonitors", "monitoring");
        }
        break;
    case P_KSM: {
        static const char *r[] = {"pods", "deployments", "replicasets", "daemonsets", "statefulsets",
                                  "jobs", "cronjobs", "nodes", "namespaces", "services", "secrets",
                                  "configmaps", "persistentvolumeclaims", "horizontalpodautoscalers",
                                  "ingresses", "leases", "poddisruptionbudgets", "endpoints"};
        act(q, bd_pct(&R, 60) ? "watch" : "list", PICK(r), NULL, NULL, NULL);
        break;
    }
    case P_FLUENT:
        if (v < 70) {
            const char *ns = bd_pct(&R, 50) ? PICK(APP_NS) : PICK(SYS_NS);
            obj_name("pods", ns, name, sizeof name);
            act(q, "get", "pods", NULL, ns, name);
        } else {
            read_any(q, "namespaces", NULL);
        }
        break;
    case P_ARGO:
        if (v < 30) {
            obj_name("applications", "argocd", name, sizeof name);
            act(q, v < 15 ? "get" : "patch", "applications", NULL, "argocd", name);
        } else if (v < 80) {
            static const char *r[] = {"deployments", "services", "configmaps", "secrets", "ingresses",
                                      "serviceaccounts", "roles", "rolebindings", "networkpolicies",
                                      "horizontalpodautoscalers", "cronjobs", "statefulsets"};
            act(q, bd_pct(&R, 50) ? "watch" : "list", PICK(r), NULL, NULL, NULL);
        } else {
            obj_name("secrets", "argocd", name, sizeof name);
            act(q, "get", "secrets", NULL, "argocd", name);
        }
        break;
    case P_CERTMGR:
        if (v < 35)
            act(q, bd_pct(&R, 50) ? "get" : "update", "leases", NULL, "kube-system", "cert-manager-controller");
        else if (v < 70)
            read_any(q, "certificates", PICK(APP_NS));
        else
            read_any(q, "secrets", PICK(APP_NS));
        break;
    case P_INGRESS:
        if (v < 30)
            act(q, bd_pct(&R, 50) ? "get" : "update", "leases", NULL, "ingress-nginx", "ingress-nginx-leader");
        else
            read_any(q, v < 55 ? "ingresses" : v < 75 ? "endpointslices" : v < 90 ? "services" : "secrets", NULL);
        break;
    case P_KARPENTER:
        if (v < 25)
            act(q, bd_pct(&R, 50) ? "get" : "update", "leases", NULL, "karpenter", "karpenter-leader-election");
        else if (v < 60)
            read_any(q, v < 45 ? "nodeclaims" : "nodes", NULL);
        else if (v < 85)
            act(q, "watch", "pods", NULL, NULL, NULL);
        else
            act(q, "create", "events", NULL, "karpenter", NULL);
        break;
    case P_EXTSECRETS: {
        const char *ns = PICK(APP_NS);
        obj_name("secrets", ns, name, sizeof name);
        if (v < 40)
            act(q, "get", "secrets", NULL, ns, name);
        else if (v < 60)
            act(q, "update", "secrets", NULL, ns, name);
        else
            read_any(q, "externalsecrets", ns);
        break;
    }
    case P_ISTIOD:
        read_any(q, v < 30 ? "services" : v < 55 ? "endpointslices" : v < 75 ? "virtualservices" : v < 90 ? "pods" : "namespaces",
                 NULL);
        if (strcmp(q->verb, "get") == 0)
            act(q, "watch", q->r->name, NULL, NULL, NULL);
        break;
    default: /* an application */
        if (v < 35) {
            obj_name("configmaps", u->ns, name, sizeof name);
            act(q, "get", "configmaps", NULL, u->ns, name);
        } else if (v < 60) {
            obj_name("secrets", u->ns, name, sizeof name);
            act(q, "get", "secrets", NULL, u->ns, name);
        } else if (v < 80) {
            char lease[128];
            snprintf(lease, sizeof lease, "%s-leader", strrchr(u->name, ':') + 1);
            act(q, bd_pct(&R, 50) ? "get" : "update", "leases", NULL, u->ns, lease);
        } else if (v < 90) {
            act(q, "create", "events", NULL, u->ns, NULL);
        } else {
            read_any(q, "pods", u->ns);
        }
        break;
    }
}

static void forbid(req *q)
{
    q->code = 403;
    q->forbid = 1;
    q->reason[0] = 0;
}

/* EKS access entries: the reason names the access policy */
static void eks_reason(req *q, const user *u)
{
    const char *policy = strstr(u->groups, "masters") || strstr(u->groups, "admins") ? "AmazonEKSClusterAdminPolicy"
                       : strstr(u->groups, "viewers") ? "AmazonEKSViewPolicy" : "AmazonEKSEditPolicy";
    const char *arn = strstr(u->extra, "\"canonicalArn\":[\"");
    char principal[200] = "";
    if (arn) {
        arn += strlen("\"canonicalArn\":[\"");
        snprintf(principal, sizeof principal, "%.*s", (int)(strchr(arn, '"') - arn), arn);
    }
    snprintf(q->reason, sizeof q->reason,
             "EKS Access Policy: allowed by ClusterRoleBinding \\\"%s+%s\\\" of ClusterRole \\\"arn:aws:eks::aws:"
             "cluster-access-policy/%s\\\" to User \\\"%s\\\"", principal, policy, policy, u->name);
}

static void human_request(req *q, const user *u, int ci)
{
    char name[200];
    unsigned v = bd_below(&R, 100);
    const char *ns = PICK(APP_NS);
    set_caller(q, u);
    eks_reason(q, u);
    if (ci) {
        if (v < 40) {
            obj_name("deployments", ns, name, sizeof name);
            act(q, "get", "deployments", NULL, ns, name);
        } else if (v < 60) {
            act(q, "list", bd_pct(&R, 50) ? "pods" : "replicasets", NULL, ns, NULL);
            snprintf(q->uri + strlen(q->uri), 96, "%slabelSelector=app.kubernetes.io%%2Fname%%3Dpayments-api",
                     strchr(q->uri, '?') ? "&" : "?");
        } else if (v < 80) {
            obj_name("secrets", ns, name, sizeof name);
            act(q, "get", "secrets", NULL, ns, "sh.helm.release.v1.app.v12");
        } else {
            obj_name("configmaps", ns, name, sizeof name);
            act(q, "get", "configmaps", NULL, ns, name);
        }
        return;
    }
    if (v < 22) {
        act(q, "list", "pods", NULL, ns, NULL);
        build_uri(q, "limit=500");
    } else if (v < 32) {
        obj_name("pods", ns, name, sizeof name);
        act(q, "get", "pods", NULL, ns, name);
    } else if (v < 40) {
        obj_name("pods", ns, name, sizeof name);
        act(q, "get", "pods", "log", ns, name);
        build_uri(q, "container=app&follow=true&tailLines=100");
        q->long_running = bd_pct(&R, 50);
    } else if (v < 46) {
        act(q, "list", "events", NULL, ns, NULL);
        {
            char query[160];
            snprintf(query, sizeof query, "fieldSelector=involvedObject.namespace%%3D%s&limit=500", ns);
            build_uri(q, query);
        }
    } else if (v < 54) {
        act(q, "list", bd_pct(&R, 50) ? "deployments" : "services", NULL, ns, NULL);
    } else if (v < 58) {
        act(q, "list", bd_pct(&R, 50) ? "namespaces" : "nodes", NULL, NULL, NULL);
    } else if (v < 62) {
        act(q, "create", "selfsubjectaccessreviews", NULL, NULL, NULL);
    } else if (v < 66) {
        if (strstr(u->groups, "admins") && bd_pct(&R, 25)) { /* an admin debugging a system pod */
            ns = "kube-system";
            snprintf(name, sizeof name, "aws-node-%c%c%c%c%c", 'a' + bd_below(&R, 26), 'a' + bd_below(&R, 26),
                     'a' + bd_below(&R, 26), 'a' + bd_below(&R, 26), 'a' + bd_below(&R, 26));
        } else {
            obj_name("pods", ns, name, sizeof name);
        }
        act(q, "create", "pods", "exec", ns, name);
        {
            char query[200];
            snprintf(query, sizeof query, "command=%s&container=app&stdin=true&stdout=true&tty=true",
                     bd_pct(&R, 50) ? "sh" : "bash&command=-c&command=env%20%7C%20grep%20DB_");
            build_uri(q, query);
        }
        q->long_running = 1;
        q->code = 101;
    } else if (v < 68) {
        obj_name("pods", ns, name, sizeof name);
        act(q, "create", "pods", "portforward", ns, name);
        build_uri(q, "ports=8080");
        q->long_running = 1;
        q->code = 101;
    } else if (v < 73) {
        obj_name("pods", ns, name, sizeof name);
        act(q, "delete", "pods", NULL, ns, name);
    } else if (v < 77) {
        obj_name("deployments", ns, name, sizeof name);
        act(q, "patch", "deployments", "scale", ns, name);
        q->level = L_REQUEST;
        q->body = B_PATCH;
        q->patch_kind = 2;
    } else if (v < 81) {
        obj_name("secrets", ns, name, sizeof name);
        act(q, "get", "secrets", NULL, ns, name);
        if (strstr(u->groups, "viewers"))
            forbid(q);
    } else if (v < 84) {
        obj_name("configmaps", ns, name, sizeof name);
        act(q, "get", "configmaps", NULL, ns, name);
    } else if (v < 88) {
        act(q, "list", "pods", NULL, "kube-system", NULL);
        if (!strstr(u->groups, "admins") && !strstr(u->groups, "masters"))
            forbid(q);
    } else if (v < 92) {
        act(q, "watch", "pods", NULL, ns, NULL);
    } else if (v < 95) {
        obj_name("nodes", NULL, name, sizeof name);
        act(q, "get", "nodes", NULL, NULL, name);
    } else {
        static const char *r[] = {"ingresses", "horizontalpodautoscalers", "statefulsets", "cronjobs", "jobs",
                                  "rolebindings", "networkpolicies", "persistentvolumeclaims"};
        act(q, "list", PICK(r), NULL, ns, NULL);
    }
}

static void random_public_ip(char out[64], int v6)
{
    bd_entry e;
    memset(&e, 0, sizeof e);
    for (;;) {
        uint64_t h = bd_next(&R);
        if (v6) {
            e.v6 = 1;
            e.plen = 128;
            bd_random6(h, bd_next(&R), e.b);
            if (!bd_overlaps6(e.b, 128))
                break;
        } else {
            e.plen = 32;
            e.v4 = bd_random4(h);
            if (!bd_overlaps4(e.v4, 32))
                break;
        }
    }
    bd_format(&e, 0, out, 64);
}

static user ANON;

static void anonymous_request(req *q, int probe)
{
    static const char *probe_paths[] = {"/readyz", "/livez", "/healthz", "/readyz?verbose", "/version",
                                        "/livez/etcd"};
    static const char *scan_uas[] = {"Mozilla/5.0 zgrab/0.x", "python-requests/2.31.0", "curl/7.88.1",
                                     "Go-http-client/1.1",
                                     "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36"};
    ANON.kind = probe ? U_ANON_PROBE : U_ANON_SCAN;
    snprintf(ANON.name, sizeof ANON.name, "system:anonymous");
    ANON.uid[0] = 0;
    snprintf(ANON.groups, sizeof ANON.groups, "[\"system:unauthenticated\"]");
    ANON.extra[0] = 0;
    ANON.ip2[0] = 0;
    if (probe) {
        snprintf(ANON.ip, sizeof ANON.ip, "10.0.%d.%d", 1 + bd_below(&R, 3), 4 + bd_below(&R, 8));
        snprintf(ANON.ua, sizeof ANON.ua, "%s", bd_pct(&R, 50) ? "ELB-HealthChecker/2.0" : "kube-probe/1.29+");
    } else {
        random_public_ip(ANON.ip, bd_pct(&R, 15));
        snprintf(ANON.ua, sizeof ANON.ua, "%s", PICK(scan_uas));
    }
    set_caller(q, &ANON);
    snprintf(q->reason, sizeof q->reason,
             "RBAC: allowed by ClusterRoleBinding \\\"system:public-info-viewer\\\" of ClusterRole "
             "\\\"system:public-info-viewer\\\" to Group \\\"system:unauthenticated\\\"");
    if (probe) {
        nonresource(q, PICK(probe_paths));
        return;
    }
    unsigned v = bd_below(&R, 100);
    if (v < 40) {
        static const char *p[] = {"/version", "/api", "/apis", "/healthz", "/openapi/v2", "/.well-known/openid-configuration"};
        nonresource(q, PICK(p));
        if (strcmp(q->uri, "/api") == 0 || strcmp(q->uri, "/apis") == 0 || strncmp(q->uri, "/openapi", 8) == 0)
            forbid(q);
    } else if (v < 65) {
        act(q, "list", "pods", NULL, NULL, NULL);
        forbid(q);
    } else if (v < 85) {
        act(q, "list", "secrets", NULL, "kube-system", NULL);
        forbid(q);
    } else {
        act(q, "list", "namespaces", NULL, NULL, NULL);
        forbid(q);
    }
}

/* ---- workload writes -------------------------------------------------- */

static void workload_request(req *q)
{
    unsigned v = bd_below(&R, 100);
    const app *a = &APPS[bd_below(&R, N_ELEM(APPS))];
    int patch = bd_pct(&R, 8);
    char sfx[8];
    q->app = a;
    q->level = bd_pct(&R, 30) ? L_REQUESTRESPONSE : L_REQUEST;
    q->body = B_WORKLOAD;
    /* versions drift slowly; privileged images keep one tag (their rule
     * remembers every image) */
    snprintf(q->version, sizeof q->version, a->tagfmt,
             a->sec == SEC_PRIVILEGED || a->init_priv ? 1 : (int)bd_below(&R, 12));
    snprintf(q->image, sizeof q->image, "%s:%s", a->image, q->version);
    if (v < 50) {
        /* a controller creates a pod of a */
        const char *ctrl = a->kind == K_DS ? "daemon-set-controller"
                         : a->kind == K_STS ? "statefulset-controller"
                         : a->kind == K_DEPLOY ? "replicaset-controller" : "job-controller";
        const user *u = NULL;
        for (int i = 0; i < N_CTRLS; i++)
            if (strstr(CTRLS[i].name, ctrl))
                u = &CTRLS[i];
        set_caller(q, u);
        {
            char subj[200], binding[128];
            snprintf(subj, sizeof subj, "ServiceAccount \\\"%s/kube-system\\\"", ctrl);
            snprintf(binding, sizeof binding, "system:controller:%s", ctrl);
            rbac_reason(q, binding, binding, subj);
        }
        alnum(sfx, 5);
        q->wkind = K_POD;
        q->owner_kind = a->kind == K_DS ? "DaemonSet" : a->kind == K_STS ? "StatefulSet"
                      : a->kind == K_DEPLOY ? "ReplicaSet" : "Job";
        if (a->kind == K_DEPLOY)
            snprintf(q->owner_name, sizeof q->owner_name, "%s-%d%s", a->name, 5 + (int)bd_below(&R, 4), "d8f7c9b");
        else if (a->kind == K_CRONJOB)
            snprintf(q->owner_name, sizeof q->owner_name, "%s-%u", a->name, 28571040u + bd_below(&R, 1000));
        else
            snprintf(q->owner_name, sizeof q->owner_name, "%s", a->name);
        snprintf(q->gen_name, sizeof q->gen_name, "%s-", q->owner_name);
        act(q, "create", "pods", NULL, a->ns, NULL);
        q->psa = 1;
        return;
    }
    if (v < 58 && a->kind == K_DEPLOY) {
        /* the deployment controller rolls out a new ReplicaSet */
        const user *u = NULL;
        for (int i = 0; i < N_CTRLS; i++)
            if (strstr(CTRLS[i].name, "deployment-controller"))
                u = &CTRLS[i];
        set_caller(q, u);
        rbac_reason(q, "system:controller:deployment-controller", "system:controller:deployment-controller",
                    "ServiceAccount \\\"deployment-controller/kube-system\\\"");
        q->wkind = K_RS;
        q->owner_kind = "Deployment";
        snprintf(q->owner_name, sizeof q->owner_name, "%s", a->name);
        snprintf(q->gen_name, sizeof q->gen_name, "%s-%d%s", a->name, 5 + (int)bd_below(&R, 4), "d8f7c9b");
        act(q, "create", "replicasets", NULL, a->ns, NULL);
        return;
    }
    if (v < 61) {
        /* kubectl debug node/...: a pod with the host's root mounted */
        a = &DEBUG_APP;
        q->app = a;
        snprintf(q->version, sizeof q->version, "1.36");
        snprintf(q->image, sizeof q->image, "docker.io/library/busybox:1.36");
        set_caller(q, &HUMANS[bd_below(&R, 3)]);
        rbac_reason(q, "eks-access-platform-admins", "cluster-admin", "Group \\\"platform-admins\\\"");
        q->wkind = K_POD;
        alnum(sfx, 5);
        snprintf(q->gen_name, sizeof q->gen_name, "node-debugger-%s-", NODE_NAME[bd_below(&R, N_NODES)]);
        act(q, "create", "pods", NULL, "default", NULL);
        q->psa = 1;
        return;
    }
    /* people, CI and Argo CD write the workload itself */
    unsigned who = bd_below(&R, 10);
    if (who < 4) {
        const user *u = NULL;
        for (int i = 0; i < N_SAS; i++)
            if (SAS[i].profile == P_ARGO) {
                u = &SAS[i];
                break;
            }
        set_caller(q, u);
        rbac_reason(q, "argocd-application-controller", "argocd-application-controller",
                    "ServiceAccount \\\"argocd-application-controller/argocd\\\"");
    } else if (who < 7) {
        set_caller(q, &CIS[bd_below(&R, (uint32_t)N_CIS)]);
        rbac_reason(q, "eks-access-deployers", "edit", "Group \\\"deployers\\\"");
        q->applied = 1;
    } else {
        set_caller(q, &HUMANS[bd_below(&R, (uint32_t)N_HUMANS)]);
        rbac_reason(q, "eks-access-platform-admins", "cluster-admin", "Group \\\"platform-admins\\\"");
        q->applied = 1;
    }
    q->wkind = a->kind;
    if (patch) {
        act(q, "patch", app_resource(a->kind), NULL, a->ns, a->name);
        q->body = B_PATCH;
        q->patch_kind = bd_pct(&R, 50) ? 0 : 1;
        q->level = q->level == L_REQUESTRESPONSE ? L_REQUESTRESPONSE : L_REQUEST;
    } else if (bd_pct(&R, 35)) {
        act(q, "update", app_resource(a->kind), NULL, a->ns, a->name);
    } else {
        act(q, "create", app_resource(a->kind), NULL, a->ns, NULL);
    }
}

static void binding_request(req *q)
{
    char name[200];
    set_caller(q, bd_pct(&R, 50) ? &CIS[bd_below(&R, (uint32_t)N_CIS)] : &HUMANS[bd_below(&R, 3)]);
    rbac_reason(q, "eks-access-platform-admins", "cluster-admin", "Group \\\"platform-admins\\\"");
    q->level = L_REQUESTRESPONSE;
    q->body = B_RB;
    q->rb_kind = bd_below(&R, 1000) < 3 ? 1 : bd_below(&R, 1000) < 2 ? 2 : 0; /* rare: admin to default SA, anonymous */
    if (bd_pct(&R, 70)) {
        const char *ns = PICK(APP_NS);
        snprintf(name, sizeof name, "%s-edit", ns);
        act(q, bd_pct(&R, 70) ? "create" : "update", "rolebindings", NULL, ns, NULL);
        if (strcmp(q->verb, "update") == 0) {
            snprintf(q->name, sizeof q->name, "%s", name);
            build_uri(q, "fieldManager=kubectl-client-side-apply&fieldValidation=Strict");
        }
    } else {
        act(q, "create", "clusterrolebindings", NULL, NULL, NULL);
    }
}

static void service_request(req *q)
{
    const app *a = &APPS[bd_below(&R, N_ELEM(APPS))];
    set_caller(q, bd_pct(&R, 60) ? &SAS[0] : &CIS[bd_below(&R, (uint32_t)N_CIS)]);
    for (int i = 0; i < N_SAS && q->u == &SAS[0]; i++)
        if (SAS[i].profile == P_ARGO) {
            set_caller(q, &SAS[i]);
            break;
        }
    rbac_reason(q, "eks-access-deployers", "edit", "Group \\\"deployers\\\"");
    q->app = a;
    q->level = L_REQUESTRESPONSE;
    q->body = B_SVC;
    q->svc_kind = bd_below(&R, 2000) == 0 ? 2 : bd_pct(&R, 15) ? 1 : 0; /* 2: dashboard as LoadBalancer */
    if (bd_pct(&R, 50))
        act(q, "create", "services", NULL, a->ns, NULL);
    else
        act(q, "update", "services", NULL, a->ns, a->name);
}

/* ---- list hits -------------------------------------------------------- */

static unsigned long long HITS_BY_LIST[7];

static void hostile_request(req *q)
{
    int list;
    unsigned l = bd_below(&R, 100);
    list = l < 25 ? BD_TOR_LIST : (int)((l - 25) % 6);
    bd_entry e = bd_listed_address(SEED, list, bd_next(&R));
    char ip[64];
    bd_format(&e, 0, ip, sizeof ip);
    HITS_BY_LIST[list]++;
    unsigned who = bd_below(&R, 100);
    if (who < 40) {
        /* stolen IAM credentials */
        human_request(q, &HUMANS[bd_below(&R, (uint32_t)N_HUMANS)], 0);
        if (bd_pct(&R, 40)) {
            static const char *a[][2] = {{"list", "secrets"}, {"get", "secrets"}, {"list", "nodes"},
                                         {"delete", "deployments"}, {"create", "clusterrolebindings"},
                                         {"delete", "events"}, {"list", "configmaps"}, {"create", "serviceaccounts"}};
            unsigned k = bd_below(&R, N_ELEM(a));
            char name[200];
            const char *ns = PICK(APP_NS);
            obj_name(a[k][1], ns, name, sizeof name);
            act(q, a[k][0], a[k][1], NULL, ns,
                strcmp(a[k][0], "list") == 0 || strcmp(a[k][0], "create") == 0 ? NULL : name);
            q->long_running = 0;
        }
        q->ua = bd_pct(&R, 50) ? "kubectl/v1.29.2 (linux/amd64) kubernetes/4b8e819" : "python-requests/2.31.0";
    } else if (who < 80) {
        anonymous_request(q, 0);
        if (bd_pct(&R, 30)) { /* a misconfigured anonymous grant that works */
            q->code = 200;
            q->forbid = 0;
        }
    } else {
        /* a service account token used from outside */
        const user *u = &SAS[bd_below(&R, (uint32_t)N_SAS)];
        sa_request(q, u);
        q->ua = "curl/8.5.0";
    }
    q->nip = 1;
    snprintf(q->ips[0], 64, "%s", ip);
    if (bd_pct(&R, 20)) { /* behind a proxy that adds X-Forwarded-For */
        snprintf(q->ips[1], 64, "10.0.0.%d", 200 + bd_below(&R, 50));
        q->nip = 2;
    }
    q->hit = 1;
}

/* ---- serialization ---------------------------------------------------- */

enum { ST_RECEIVED, ST_STARTED, ST_COMPLETE };
static const char *STAGE_NAME[] = {"RequestReceived", "ResponseStarted", "ResponseComplete"};

static void put_body(sb *s, const req *q, int resp)
{
    switch (q->body) {
    case B_WORKLOAD:
        put_workload(s, q->app, q->wkind, q->image, q->version, resp, q->applied && !resp, q->owner_kind,
                     q->owner_name, q->gen_name[0] ? q->gen_name : NULL);
        break;
    case B_PATCH:
        if (resp) {
            put_workload(s, q->app ? q->app : &APPS[0], q->app ? q->app->kind : K_DEPLOY,
                         q->image[0] ? q->image : "public.ecr.aws/nginx/nginx:1.25.4",
                         q->version[0] ? q->version : "1.25.4", 1, 0, NULL, NULL, NULL);
        } else if (q->patch_kind == 0) {
            char ts[40];
            fmt_time(NOW_US, ts, 0);
            sb_putf(s, "{\"spec\":{\"template\":{\"metadata\":{\"annotations\":{\"kubectl.kubernetes.io/restartedAt\":\"%s\"}}}}}", ts);
        } else if (q->patch_kind == 1) {
            sb_putf(s, "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"%s\"}]}}}}", q->image);
        } else {
            sb_putf(s, "{\"spec\":{\"replicas\":%d}}", 2 + (int)bd_below(&R, 8));
        }
        break;
    case B_RB: {
        int cluster = strcmp(q->r->name, "clusterrolebindings") == 0;
        const char *role = q->rb_kind == 1 ? "cluster-admin" : cluster ? "view" : "edit";
        sb_putf(s, "{\"kind\":\"%s\",\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"metadata\":{\"name\":\"%s-%s\"%s%s%s,"
                   "\"creationTimestamp\":null,\"labels\":{\"app.kubernetes.io/managed-by\":\"Helm\"}},\"subjects\":[",
                q->r->kind, q->ns[0] ? q->ns : "platform", role, q->ns[0] ? ",\"namespace\":\"" : "",
                q->ns, q->ns[0] ? "\"" : "");
        if (q->rb_kind == 1)
            sb_putf(s, "{\"kind\":\"ServiceAccount\",\"name\":\"default\",\"namespace\":\"%s\"}", q->ns[0] ? q->ns : "default");
        else if (q->rb_kind == 2)
            sb_put(s, "{\"kind\":\"Group\",\"apiGroup\":\"rbac.authorization.k8s.io\",\"name\":\"system:unauthenticated\"}");
        else
            sb_put(s, "{\"kind\":\"Group\",\"apiGroup\":\"rbac.authorization.k8s.io\",\"name\":\"developers\"},"
                      "{\"kind\":\"ServiceAccount\",\"name\":\"argocd-application-controller\",\"namespace\":\"argocd\"}");
        sb_putf(s, "],\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":\"%s\"}}", role);
        break;
    }
    case B_SVC: {
        const char *name = q->svc_kind == 2 ? "kubernetes-dashboard" : q->app->name;
        sb_putf(s, "{\"kind\":\"Service\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\","
                   "\"creationTimestamp\":null,\"labels\":{\"app.kubernetes.io/name\":\"%s\"}%s},\"spec\":{\"ports\":"
                   "[{\"name\":\"http\",\"protocol\":\"TCP\",\"port\":%d,\"targetPort\":%d}],\"selector\":"
                   "{\"app.kubernetes.io/name\":\"%s\"},\"type\":\"%s\"%s},\"status\":{\"loadBalancer\":{}}}",
                name, q->svc_kind == 2 ? "kubernetes-dashboard" : q->app->ns, name,
                q->svc_kind == 1 ? ",\"annotations\":{\"service.beta.kubernetes.io/aws-load-balancer-type\":\"external\","
                                   "\"service.beta.kubernetes.io/aws-load-balancer-scheme\":\"internet-facing\"}" : "",
                q->svc_kind ? 443 : 80, q->app->port ? q->app->port : 8080, name,
                q->svc_kind ? "LoadBalancer" : "ClusterIP",
                resp ? ",\"clusterIP\":\"172.20.93.17\",\"clusterIPs\":[\"172.20.93.17\"],\"sessionAffinity\":\"None\","
                       "\"ipFamilies\":[\"IPv4\"],\"ipFamilyPolicy\":\"SingleStack\",\"internalTrafficPolicy\":\"Cluster\"" : "");
        break;
    }
    case B_NODESTATUS: {
        char ts[40];
        fmt_time(NOW_US, ts, 0);
        sb_put(s, "{\"status\":{\"$setElementOrder/conditions\":[{\"type\":\"MemoryPressure\"},{\"type\":\"DiskPressure\"},"
                  "{\"type\":\"PIDPressure\"},{\"type\":\"Ready\"}],\"conditions\":[");
        static const char *c[] = {"MemoryPressure", "DiskPressure", "PIDPressure", "Ready"};
        for (int i = 0; i < 4; i++)
            sb_putf(s, "%s{\"lastHeartbeatTime\":\"%s\",\"type\":\"%s\"}", i ? "," : "", ts, c[i]);
        sb_put(s, "]}}");
        break;
    }
    case B_PODSTATUS: {
        char ts[40], uid[37], cid[65], dig[65];
        fmt_time(NOW_US, ts, 0);
        uuid(uid);
        hexstr(cid, 64);
        hexstr(dig, 64);
        sb_putf(s, "{\"metadata\":{\"uid\":\"%s\"},\"status\":{\"$setElementOrder/conditions\":[{\"type\":\"PodReadyToStartContainers\"},"
                   "{\"type\":\"Initialized\"},{\"type\":\"Ready\"},{\"type\":\"ContainersReady\"},{\"type\":\"PodScheduled\"}],"
                   "\"conditions\":[{\"lastTransitionTime\":\"%s\",\"status\":\"True\",\"type\":\"Ready\"},"
                   "{\"lastTransitionTime\":\"%s\",\"status\":\"True\",\"type\":\"ContainersReady\"}],"
                   "\"containerStatuses\":[{\"containerID\":\"containerd://%s\",\"image\":\"%s\",\"imageID\":\"%s@sha256:%s\","
                   "\"lastState\":{},\"name\":\"app\",\"ready\":true,\"restartCount\":0,\"started\":true,"
                   "\"state\":{\"running\":{\"startedAt\":\"%s\"}}}],\"podIP\":\"%s\",\"podIPs\":[{\"ip\":\"%s\"}]}}",
                uid, ts, ts, cid, "public.ecr.aws/nginx/nginx:1.25.4", "public.ecr.aws/nginx/nginx", dig, ts,
                q->ips[0], q->ips[0]);
        break;
    }
    default:
        sb_put(s, "{}");
    }
}

static sb BODY_REQ, BODY_RESP; /* the bodies of the current request */

static void emit_event(sb *s, const req *q, const char *audit_id, int stage, long long t_recv,
                       long long t_stage)
{
    char ts1[40], ts2[40];
    const user *u = q->u;
    fmt_time(t_recv, ts1, 1);
    fmt_time(t_stage, ts2, 1);
    sb_putf(s, "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"%s\",\"auditID\":\"%s\","
               "\"stage\":\"%s\",\"requestURI\":\"%s\",\"verb\":\"%s\",\"user\":{\"username\":\"%s\"",
            LEVEL_NAME[q->level], audit_id, STAGE_NAME[stage], q->uri, q->verb, u->name);
    if (*u->uid)
        sb_putf(s, ",\"uid\":\"%s\"", u->uid);
    sb_putf(s, ",\"groups\":%s", u->groups);
    if (*u->extra)
        sb_putf(s, ",\"extra\":%s", u->extra);
    sb_put(s, "},\"sourceIPs\":[");
    for (int i = 0; i < q->nip; i++)
        sb_putf(s, "%s\"%s\"", i ? "," : "", q->ips[i]);
    sb_putf(s, "],\"userAgent\":\"%s\"", q->ua);
    if (q->r) {
        sb_putf(s, ",\"objectRef\":{\"resource\":\"%s\"", q->r->name);
        if (*q->ns)
            sb_putf(s, ",\"namespace\":\"%s\"", q->ns);
        if (*q->name)
            sb_putf(s, ",\"name\":\"%s\"", q->name);
        if (*q->obj_uid)
            sb_putf(s, ",\"uid\":\"%s\"", q->obj_uid);
        if (*q->r->group)
            sb_putf(s, ",\"apiGroup\":\"%s\"", q->r->group);
        sb_putf(s, ",\"apiVersion\":\"%s\"", q->r->version);
        if (*q->obj_uid)
            sb_putf(s, ",\"resourceVersion\":\"%u\"", q->obj_rv);
        if (q->sub)
            sb_putf(s, ",\"subresource\":\"%s\"", q->sub);
        sb_put(s, "}");
    }
    if (stage != ST_RECEIVED) {
        if (q->forbid) {
            sb_put(s, ",\"responseStatus\":{\"metadata\":{},\"status\":\"Failure\",\"message\":\"");
            if (q->r)
                sb_putf(s, "%s is forbidden: User \\\"%s\\\" cannot %s resource \\\"%s\\\" in API group \\\"%s\\\"%s%s",
                        q->r->name, u->name, q->verb, q->r->name, q->r->group, *q->ns ? " in the namespace \\\"" : " at the cluster scope",
                        *q->ns ? q->ns : "");
            else
                sb_putf(s, "forbidden: User \\\"%s\\\" cannot get path \\\"%s\\\"", u->name, q->uri);
            if (q->r && *q->ns)
                sb_put(s, "\\\"");
            sb_putf(s, "\",\"reason\":\"Forbidden\",\"details\":{%s%s%s},\"code\":403}", q->r ? "\"kind\":\"" : "",
                    q->r ? q->r->name : "", q->r ? "\"" : "");
        } else {
            sb_putf(s, ",\"responseStatus\":{\"metadata\":{},\"code\":%d}", stage == ST_STARTED && q->code == 201 ? 101 : q->code);
        }
    }
    if (q->level >= L_REQUEST && q->body != B_NONE) {
        sb_put(s, ",\"requestObject\":");
        sb_put(s, BODY_REQ.p);
    }
    if (q->level == L_REQUESTRESPONSE && stage == ST_COMPLETE && q->body != B_NONE && !q->forbid) {
        sb_put(s, ",\"responseObject\":");
        sb_put(s, BODY_RESP.p);
    }
    sb_putf(s, ",\"requestReceivedTimestamp\":\"%s\",\"stageTimestamp\":\"%s\"", ts1, ts2);
    if (stage != ST_RECEIVED) {
        sb_putf(s, ",\"annotations\":{\"authorization.k8s.io/decision\":\"%s\",\"authorization.k8s.io/reason\":\"%s\"",
                q->forbid ? "forbid" : "allow", q->forbid ? "" : q->reason);
        if (q->psa)
            sb_put(s, ",\"pod-security.kubernetes.io/enforce-policy\":\"privileged:latest\"");
        sb_put(s, "}");
    }
    sb_put(s, "}\n");
}

/* Pending events (completions written later, as in a real log). */
typedef struct pending {
    unsigned long long due;
    char *text;
    size_t len;
} pending;

static pending *HEAP;
static size_t HEAP_N, HEAP_CAP;

static void heap_push(unsigned long long due, const char *text, size_t len)
{
    if (HEAP_N == HEAP_CAP) {
        HEAP_CAP = HEAP_CAP ? HEAP_CAP * 2 : 1024;
        HEAP = realloc(HEAP, HEAP_CAP * sizeof *HEAP);
    }
    pending p = {due, malloc(len), len};
    memcpy(p.text, text, len);
    size_t i = HEAP_N++;
    while (i > 0 && HEAP[(i - 1) / 2].due > due) {
        HEAP[i] = HEAP[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    HEAP[i] = p;
}

static pending heap_pop(void)
{
    pending top = HEAP[0], last = HEAP[--HEAP_N];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= HEAP_N)
            break;
        if (c + 1 < HEAP_N && HEAP[c + 1].due < HEAP[c].due)
            c++;
        if (HEAP[c].due >= last.due)
            break;
        HEAP[i] = HEAP[c];
        i = c;
    }
    if (HEAP_N)
        HEAP[i] = last;
    return top;
}

static unsigned long long EMITTED, BYTES;
static FILE *OUT;

static void write_line(const char *text, size_t len)
{
    fwrite(text, 1, len, OUT);
    EMITTED++;
    BYTES += len;
}

static void flush_due(void)
{
    while (HEAP_N && HEAP[0].due <= EMITTED) {
        pending p = heap_pop();
        write_line(p.text, p.len);
        free(p.text);
    }
}

static unsigned long long CNT_REQ, CNT_WORKLOAD, CNT_HIT, CNT_BODY, CNT_V6, CNT_ANON, CNT_LEVEL[3];
static unsigned long long CNT_VERB[16];
static const char *VERBS[] = {"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"};

static void count_verb(const char *v)
{
    for (size_t i = 0; i < N_ELEM(VERBS); i++)
        if (strcmp(VERBS[i], v) == 0)
            CNT_VERB[i]++;
}

static void one_request(sb *s)
{
    req q;
    char id[37];
    memset(&q, 0, sizeof q);
    unsigned v = bd_below(&R, 1000);
    if (v < 30) {
        hostile_request(&q);
        CNT_HIT++;
    } else if (v < 85) {
        workload_request(&q);
        CNT_WORKLOAD++;
    } else if (v < 88) {
        binding_request(&q);
    } else if (v < 91) {
        service_request(&q);
    } else if (v < 370) {
        kubelet_request(&q, &NODES[bd_below(&R, N_NODES)]);
    } else if (v < 560) {
        control_plane_request(&q);
    } else if (v < 860) {
        sa_request(&q, &SAS[bd_below(&R, (uint32_t)N_SAS)]);
    } else if (v < 940) {
        human_request(&q, &HUMANS[bd_below(&R, (uint32_t)N_HUMANS)], 0);
    } else if (v < 965) {
        human_request(&q, &CIS[bd_below(&R, (uint32_t)N_CIS)], 1);
    } else {
        anonymous_request(&q, v < 990);
    }
    /* some failures: not found, conflicts */
    if (!q.forbid && !q.hit) {
        if (strcmp(q.verb, "get") == 0 && q.r && bd_pct(&R, 3))
            q.code = 404;
        else if (strcmp(q.verb, "update") == 0 && bd_pct(&R, 2))
            q.code = 409;
    }
    CNT_REQ++;
    CNT_LEVEL[q.level]++;
    if (strchr(q.ips[0], ':'))
        CNT_V6++;
    if (q.u->kind == U_ANON_PROBE || q.u->kind == U_ANON_SCAN)
        CNT_ANON++;
    count_verb(q.verb);
    uuid(id);

    long long t0 = NOW_US;
    long long lat = 800 + (long long)bd_below(&R, 9000);
    if (q.body == B_WORKLOAD)
        lat += 4000 + (long long)bd_below(&R, 20000);
    /* the bodies, once per request (every stage logs the same object) */
    if (q.level >= L_REQUEST && q.body != B_NONE) {
        BODY_REQ.len = 0;
        put_body(&BODY_REQ, &q, 0);
        if (q.level == L_REQUESTRESPONSE) {
            BODY_RESP.len = 0;
            put_body(&BODY_RESP, &q, 1);
        }
    }
    /* RequestReceived now */
    s->len = 0;
    emit_event(s, &q, id, ST_RECEIVED, t0, t0 + (long long)bd_below(&R, 60));
    if (q.body != B_NONE && q.level >= L_REQUEST)
        CNT_BODY++;
    write_line(s->p, s->len);
    if (q.long_running) {
        s->len = 0;
        emit_event(s, &q, id, ST_STARTED, t0, t0 + lat);
        heap_push(EMITTED + bd_below(&R, 4), s->p, s->len);
        s->len = 0;
        emit_event(s, &q, id, ST_COMPLETE, t0, t0 + lat + 60000000LL * (1 + bd_below(&R, 8)));
        heap_push(EMITTED + 200 + bd_below(&R, 3000), s->p, s->len);
    } else {
        s->len = 0;
        emit_event(s, &q, id, ST_COMPLETE, t0, t0 + lat);
        heap_push(EMITTED + bd_below(&R, 8), s->p, s->len);
    }
    flush_due();
    /* ~250 requests a second */
    NOW_US += 1 + (long long)bd_below(&R, 8000);
}

static int cmd_events(unsigned long long count, const char *path)
{
    sb s = {0};
    OUT = fopen(path, "w");
    if (!OUT) {
        perror(path);
        return 1;
    }
    setvbuf(OUT, NULL, _IOFBF, 1 << 20);
    bd_rng_init(&R, SEED, 1);
    NOW_US = 1715677200LL * 1000000; /* 2024-05-14T09:00:00Z */
    build_nodes();
    build_control_plane();
    build_service_accounts();
    build_people();
    while (EMITTED + HEAP_N < count)
        one_request(&s);
    while (HEAP_N) {
        pending p = heap_pop();
        write_line(p.text, p.len);
        free(p.text);
    }
    if (fclose(OUT) != 0) {
        perror(path);
        return 1;
    }
    fprintf(stderr,
            "gen: %llu events (%llu requests), %.1f MB, %.0f bytes/event; workload writes %.1f%% of requests, "
            "events with a body %.1f%%, list-hit requests %.1f%% (tor %llu, lists %llu/%llu/%llu/%llu/%llu/%llu), "
            "IPv6 callers %.1f%%, anonymous %.1f%%, levels M/R/RR %llu/%llu/%llu\n",
            EMITTED, CNT_REQ, (double)BYTES / 1e6, (double)BYTES / (double)EMITTED,
            100.0 * (double)CNT_WORKLOAD / (double)CNT_REQ, 100.0 * (double)CNT_BODY / (double)CNT_REQ,
            100.0 * (double)CNT_HIT / (double)CNT_REQ, HITS_BY_LIST[6], HITS_BY_LIST[0], HITS_BY_LIST[1],
            HITS_BY_LIST[2], HITS_BY_LIST[3], HITS_BY_LIST[4], HITS_BY_LIST[5],
            100.0 * (double)CNT_V6 / (double)CNT_REQ, 100.0 * (double)CNT_ANON / (double)CNT_REQ,
            CNT_LEVEL[0], CNT_LEVEL[1], CNT_LEVEL[2]);
    fprintf(stderr, "gen: verbs (requests):");
    for (size_t i = 0; i < N_ELEM(VERBS); i++)
        fprintf(stderr, " %s=%llu", VERBS[i], CNT_VERB[i]);
    fputc('\n', stderr);
    free(s.p);
    return 0;
}

/* ---- lists ------------------------------------------------------------ */

static int write_list(const char *dir, int list, uint64_t entries)
{
    char path[4096], buf[96];
    FILE *f;
    if (list == BD_TOR_LIST)
        snprintf(path, sizeof path, "%s/tor-exits.txt", dir);
    else
        snprintf(path, sizeof path, "%s/threat-%d.txt", dir, list + 1);
    f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    if (list == BD_TOR_LIST) {
        for (uint64_t i = 0; i < BD_TOR_ENTRIES; i++) {
            bd_entry e = bd_list_entry(SEED, list, i);
            uint64_t h = bd_hash(SEED, 900, i, 0);
            long long t = 1715670000LL - (long long)(h % 86400);
            char ts[32];
            struct tm tm;
            time_t tt = (time_t)t;
            gmtime_r(&tt, &tm);
            strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tm);
            fprintf(f, "ExitNode %016llX%016llX%08X\nPublished %s\nLastStatus %s\nExitAddress %s %s\n",
                    (unsigned long long)bd_mix64(h), (unsigned long long)bd_mix64(h + 1), (unsigned)(h >> 7), ts, ts,
                    bd_format(&e, 0, buf, sizeof buf), ts);
        }
    } else {
        fprintf(f, "#\n# benchmark threat list %d (generated by bench/gen.c, seed %llu)\n"
                   "# %llu entries: IPv4 and IPv6 addresses and CIDR blocks\n#\n",
                list + 1, (unsigned long long)SEED, (unsigned long long)entries);
        for (uint64_t i = 0; i < entries; i++) {
            bd_entry e = bd_list_entry(SEED, list, i);
            /* list 5: IPv6 written fully expanded (some feeds do); list 4: ipsum style */
            bd_format(&e, list == 5, buf, sizeof buf);
            if (list == 4)
                fprintf(f, "%s\t%u\n", buf, 1 + (unsigned)(bd_hash(SEED, 901, i, 0) % 9));
            else
                fprintf(f, "%s\n", buf);
        }
    }
    if (fclose(f) != 0) {
        perror(path);
        return 1;
    }
    return 0;
}

/* entries: per threat list (BD_THREAT_ENTRIES unless --count; the event
 * generator's list hits always come from the first BD_THREAT_ENTRIES) */
static int cmd_lists(const char *dir, uint64_t entries)
{
    for (int l = 0; l <= BD_TOR_LIST; l++)
        if (write_list(dir, l, entries))
            return 1;
    fprintf(stderr, "gen: 6 threat lists x %llu entries and a Tor list of %d exits in %s\n", (unsigned long long)entries,
            BD_TOR_ENTRIES, dir);
    return 0;
}

/* ---- custom rules ----------------------------------------------------- */

static int cmd_rules(int count, const char *dir)
{
    static const char *apis[] = {
        "delete secrets", "get secrets", "list secrets", "patch configmaps", "update configmaps",
        "delete configmaps", "create pods/exec", "get pods/exec", "create pods/attach",
        "create pods/portforward", "delete pods", "delete deployments", "patch deployments",
        "update deployments", "create deployments", "delete services", "create services", "patch services",
        "create rolebindings", "delete rolebindings", "create roles", "patch roles",
        "delete persistentvolumeclaims", "create jobs", "delete jobs", "create cronjobs", "patch cronjobs",
        "delete statefulsets", "patch statefulsets/scale", "patch deployments/scale",
        "create serviceaccounts/token", "delete serviceaccounts", "create ingresses", "delete ingresses",
        "patch ingresses", "delete networkpolicies", "create networkpolicies", "get pods/log",
        "delete events", "deletecollection pods", "* networkpolicies", "update daemonsets",
        "delete daemonsets", "create horizontalpodautoscalers", "update externalsecrets", "* applications"};
    static const char *nss[] = {"payments", "checkout", "catalog", "search", "data", "ml-training", "backend",
                                "frontend", "staging", "default", "kube-system", "monitoring", "argocd",
                                "ingress-nginx", "cert-manager", "prod-api", "billing", "risk"};
    static const char *sev[] = {"\"High\"", "\"Medium\"", "\"Low\"", "7", "3.5"};
    bd_rng_init(&R, SEED, 3);
    for (int i = 1; i <= count; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/bench_custom_%03d.lua", dir, i);
        FILE *f = fopen(path, "w");
        if (!f) {
            perror(path);
            return 1;
        }
        int na = 2 + (int)bd_below(&R, 3), nn = 1 + (int)bd_below(&R, 3);
        int used[N_ELEM(apis)] = {0}, usedn[N_ELEM(nss)] = {0};
        fprintf(f, "-- Custom:Kubernetes/Bench%03d: a declarative custom rule generated by bench/gen.c\n"
                   "-- (the \"+100 rules\" measurement); no predicate, match only.\n"
                   "return {\n"
                   "  type = \"Custom:Kubernetes/Bench%03d\",\n"
                   "  severity = %s,\n"
                   "  title = \"Sensitive API call %03d in a watched namespace\",\n"
                   "  description = \"A call that team policy %03d reserves for the release pipeline was made in "
                   "one of the namespaces the policy watches.\",\n"
                   "  remediation = \"Check with the namespace owner that the change was intended; if not, revert "
                   "it and review the caller's access.\",\n"
                   "  match = {\n    api = {",
                i, i, sev[bd_below(&R, N_ELEM(sev))], i, i);
        for (int k = 0; k < na; k++) {
            unsigned j;
            do
                j = bd_below(&R, N_ELEM(apis));
            while (used[j]);
            used[j] = 1;
            fprintf(f, "%s\"%s\"", k ? ", " : "", apis[j]);
        }
        fprintf(f, "},\n    namespaces = {");
        for (int k = 0; k < nn; k++) {
            unsigned j;
            do
                j = bd_below(&R, N_ELEM(nss));
            while (usedn[j]);
            usedn[j] = 1;
            fprintf(f, "%s\"%s\"", k ? ", " : "", nss[j]);
        }
        fprintf(f, "},\n  },\n}\n");
        if (fclose(f) != 0) {
            perror(path);
            return 1;
        }
    }
    fprintf(stderr, "gen: %d declarative rules in %s\n", count, dir);
    return 0;
}

/* ---- main ------------------------------------------------------------- */

static void usage(void)
{
    fputs("usage: gen events --seed S --count N --out FILE\n"
          "       gen lists  --seed S --dir DIR [--count ENTRIES]\n"
          "       gen rules  --seed S --count N --dir DIR\n", stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    const char *out = NULL, *dir = NULL;
    unsigned long long count = 0;
    if (argc < 2)
        usage();
    for (int i = 2; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        if (strcmp(argv[i], "--seed") == 0)
            SEED = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--count") == 0)
            count = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--out") == 0)
            out = argv[++i];
        else if (strcmp(argv[i], "--dir") == 0)
            dir = argv[++i];
        else
            usage();
    }
    if (strcmp(argv[1], "events") == 0 && out && count)
        return cmd_events(count, out);
    if (strcmp(argv[1], "lists") == 0 && dir)
        return cmd_lists(dir, count ? count : BD_THREAT_ENTRIES);
    if (strcmp(argv[1], "rules") == 0 && dir && count)
        return cmd_rules((int)count, dir);
    usage();
    return 2;
}
