/*
 * aks: Azure Kubernetes Service diagnostic records (categories kube-audit and
 * kube-audit-admin) as Event Hub consumers, Storage exports and Log
 * Analytics dumps hold them, one record per line or in a records[] batch.
 * The audit Event sits in properties.log, as an object or a JSON string.
 */
#ifndef KGUARD_AKS_H
#define KGUARD_AKS_H

#include <stdbool.h>
#include <stddef.h>
#include <cJSON.h>
#include "kguard/origin.h"

/* Is o a diagnostic record (a "properties" object, and a string
 * "category" or properties.log)? */
bool aks_is_record(const cJSON *o);

/* The record's event, properties.log (an object, or a string holding the
 * Event's JSON); NULL with a message in err when the record is of another
 * category or has no log. */
const cJSON *aks_log(const cJSON *rec, char *err, size_t errlen);

/* The cluster, subscription and resource group named by the record's resourceId
 * (/subscriptions/S/resourceGroups/G/providers/Microsoft.ContainerService/
 * managedClusters/NAME, any case; Azure exports write it upper-case, and
 * the names are given lower-case; the resourceId itself as written).
 * Fields the record lacks stay empty. */
void aks_origin(const cJSON *rec, kg_origin *o);

#endif
