/*
 * eks: Amazon EKS control-plane logs as CloudWatch Logs delivers them: the
 * subscription payload ({"messageType", "owner", "logGroup", "logStream",
 * "logEvents": [{"id", "timestamp", "message"}]}), gzip-compressed and
 * base64-encoded inside a Lambda event ({"awslogs": {"data": ...}}), or
 * gzip-compressed in Firehose's S3 objects.
 */
#ifndef KGUARD_EKS_H
#define KGUARD_EKS_H

#include <stdbool.h>
#include <stddef.h>
#include <cJSON.h>
#include "kguard/origin.h"

/* The cluster of an EKS log group, /aws/eks/NAME/cluster, into out; false
 * for any other log group. */
bool eks_cluster_of_group(const char *log_group, char *out, size_t len);

/* Cluster (from logGroup) and account (owner) of a subscription payload. */
void eks_origin(const cJSON *payload, kg_origin *o);

/* A CONTROL_MESSAGE payload (CloudWatch checking the destination), which
 * carries no events. */
bool eks_is_control(const cJSON *payload);

/* Is o a Lambda event from a CloudWatch Logs subscription? */
bool eks_is_lambda(const cJSON *o);

/* The subscription payload inside a Lambda event: awslogs.data decoded and
 * decompressed, malloc'd and NUL-terminated, *len bytes (at most max).
 * NULL with a message in err. */
char *eks_lambda_payload(const cJSON *o, size_t max, size_t *len, char *err,
                         size_t errlen);

#endif
