/*
 * version: the version kguard reports (--version, findings, metrics).
 */
#ifndef KGUARD_VERSION_H
#define KGUARD_VERSION_H

#define KGUARD_VERSION "0.2.0"

#endif
