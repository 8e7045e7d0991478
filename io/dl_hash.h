/* dl_hash.h: SHA-256 of input files, recorded as provenance in outputs. */
#ifndef DL_HASH_H
#define DL_HASH_H

#include <stddef.h>

#include "dl_base.h"

#define DL_SHA256_HEX 65 /* 64 hex digits and the NUL */

/* Streams the file through SHA-256 and writes lowercase hex into hex.
 * DL_ENOINPUT when it cannot be opened, DL_EIO on a read error, DL_ELIB
 * when libcrypto fails. */
int dl_sha256_file(const char *path, char hex[DL_SHA256_HEX], dl_err *e);
/* The same for a memory buffer. */
int dl_sha256_mem(const void *data, size_t len, char hex[DL_SHA256_HEX], dl_err *e);

#endif
