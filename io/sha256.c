/* sha256.c: SHA-256 digests through OpenSSL's EVP interface. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <string.h>
#include <unistd.h>

#include "dl_hash.h"

static void to_hex(const unsigned char *d, unsigned len, char *hex) {
  static const char digits[] = "0123456789abcdef";
  for (unsigned i = 0; i < len; i++) {
    hex[2 * i] = digits[d[i] >> 4];
    hex[2 * i + 1] = digits[d[i] & 15];
  }
  hex[2 * len] = '\0';
}

/* Feeds either a file descriptor (fd >= 0) or a buffer through the digest. */
static int digest(int fd, const char *path, const void *data, size_t len,
                  char hex[DL_SHA256_HEX], dl_err *e) {
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int rc = DL_OK;
  if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
    rc = dl_errf(e, DL_ELIB, "sha256: libcrypto could not start a digest");
    goto out;
  }
  if (fd < 0) {
    if (EVP_DigestUpdate(ctx, data, len) != 1)
      rc = dl_errf(e, DL_ELIB, "sha256: libcrypto digest update failed");
  } else {
    unsigned char buf[1 << 16];
    for (;;) {
      ssize_t k = read(fd, buf, sizeof buf);
      if (k < 0 && errno == EINTR) continue;
      if (k < 0) {
        rc = dl_errf(e, DL_EIO, "%s: read error: %s", path, strerror(errno));
        goto out;
      }
      if (k == 0) break;
      if (EVP_DigestUpdate(ctx, buf, (size_t)k) != 1) {
        rc = dl_errf(e, DL_ELIB, "sha256: libcrypto digest update failed on %s", path);
        goto out;
      }
    }
  }
  if (!rc) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
      rc = dl_errf(e, DL_ELIB, "sha256: libcrypto could not finish the digest");
    else
      to_hex(md, mdlen, hex);
  }
out:
  EVP_MD_CTX_free(ctx);
  if (rc) hex[0] = '\0';
  return rc;
}

int dl_sha256_file(const char *path, char hex[DL_SHA256_HEX], dl_err *e) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    hex[0] = '\0';
    return dl_errf(e, DL_ENOINPUT, "%s: cannot open for hashing: %s", path, strerror(errno));
  }
  int rc = digest(fd, path, NULL, 0, hex, e);
  close(fd);
  return rc;
}

int dl_sha256_mem(const void *data, size_t len, char hex[DL_SHA256_HEX], dl_err *e) {
  return digest(-1, "memory", data, len, hex, e);
}
