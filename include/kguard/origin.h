/*
 * origin: where a record came from, as its cloud envelope tells it (the GKE
 * resource labels, the EKS CloudWatch log group and owner, the AKS
 * resourceId).  Empty strings where the envelope says nothing.
 */
#ifndef KGUARD_ORIGIN_H
#define KGUARD_ORIGIN_H

typedef struct kg_origin {
    char cloud[8];      /* "gke", "eks", "aks" or "" */
    char cluster[256];  /* the cluster's name */
    char account[128];  /* GCP project id, AWS account id, Azure subscription */
    char region[64];    /* GKE location (region or zone), else "" */
    char group[128];    /* AKS resource group, else "" */
    char resource[512]; /* AKS resourceId as the record gives it, else "" */
} kg_origin;

#endif
