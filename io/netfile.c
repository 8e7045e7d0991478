/* netfile.c: the sectioned container of the compiled network: atomic
 * write, read-only mmap, validation of every byte range and CRC32. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "dl_netio.h"

#define HDR 64
#define ENT 48
#define ALIGN 64
#define BOM 0x01020304u
#define MAX_SECTIONS 256

/* header: magic[8] version u32 bom u32 nsec u32 hcrc u32 size u64, zero pad
 * entry:  name[16] elem u32 crc u32 offset u64 count u64 pad[8] */
typedef struct entry {
  char name[16];
  uint32_t elem, crc;
  uint64_t offset, count;
  uint8_t pad[8];
} entry;

_Static_assert(sizeof(entry) == ENT, "section entry layout");

struct dl_secfile {
  const uint8_t *base;
  size_t size;
  uint32_t nsec;
  const entry *ent;
};

static uint32_t crc_of(const void *p, uint64_t n) {
  uLong c = crc32_z(0L, Z_NULL, 0);
  return (uint32_t)crc32_z(c, (const Bytef *)p, (z_size_t)n);
}

static int write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n) {
    ssize_t w = write(fd, c, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    c += w;
    n -= (size_t)w;
  }
  return 0;
}

/* 1 when the files at a and b hold the same bytes, 0 otherwise. */
static int same_bytes(const char *a, const char *b) {
  int fa = open(a, O_RDONLY | O_CLOEXEC), fb = open(b, O_RDONLY | O_CLOEXEC), same = 0;
  static char ba[1 << 16], bb[1 << 16];
  if (fa >= 0 && fb >= 0) {
    for (;;) {
      ssize_t ka = read(fa, ba, sizeof ba), kb = ka > 0 ? read(fb, bb, (size_t)ka) : read(fb, bb, 1);
      if (ka < 0 || kb < 0 || ka != kb) break;
      if (ka == 0) {
        same = 1;
        break;
      }
      if (memcmp(ba, bb, (size_t)ka)) break;
    }
  }
  if (fa >= 0) close(fa);
  if (fb >= 0) close(fb);
  return same;
}

struct dl_secw {
  char *path, *tmp;
  int fd;
  char magic[8];
  uint32_t version;
  size_t nsec, n;
  entry *tab;
  uint64_t pos; /* bytes written so far */
};

static const uint8_t zeros[4096];

static int zero_fill(int fd, uint64_t n) {
  while (n) {
    size_t k = n < sizeof zeros ? (size_t)n : sizeof zeros;
    if (write_all(fd, zeros, k)) return -1;
    n -= k;
  }
  return 0;
}

static int pwrite_all(int fd, const void *p, size_t n, uint64_t off) {
  const char *c = p;
  while (n) {
    ssize_t w = pwrite(fd, c, n, (off_t)off);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    c += w, off += (uint64_t)w;
    n -= (size_t)w;
  }
  return 0;
}

static int secw_ioerr(dl_secw *w, dl_err *e) {
  return dl_errf(e, DL_EIO, "%s: writing %s failed: %s", w->path, w->tmp, strerror(errno));
}

void dl_secw_abort(dl_secw *w) {
  if (!w) return;
  if (w->fd >= 0) {
    close(w->fd);
    unlink(w->tmp);
  }
  free(w->path), free(w->tmp), free(w->tab);
  free(w);
}

int dl_secw_open(const char *path, const char magic[8], uint32_t version, size_t nsec, dl_secw **out,
                 dl_err *e) {
  *out = NULL;
  if (nsec > MAX_SECTIONS) return dl_errf(e, DL_EINTERNAL, "%s: %zu sections", path, nsec);
  dl_secw *w = calloc(1, sizeof *w);
  size_t tlen = strlen(path) + 16;
  if (!w || !(w->path = strdup(path)) || !(w->tmp = malloc(tlen)) || !(w->tab = calloc(nsec ? nsec : 1, sizeof *w->tab))) {
    if (w) w->fd = -1;
    dl_secw_abort(w);
    return dl_errf(e, DL_ENOMEM, "%s: out of memory", path);
  }
  memcpy(w->magic, magic, 8);
  w->version = version, w->nsec = nsec;
  snprintf(w->tmp, tlen, "%s.tmpXXXXXX", path);
  w->fd = mkstemp(w->tmp);
  if (w->fd < 0) {
    int rc = dl_errf(e, DL_ECANTCREAT, "%s: cannot create a temporary file beside it: %s", path, strerror(errno));
    dl_secw_abort(w);
    return rc;
  }
  w->pos = HDR + (uint64_t)nsec * ENT; /* header and table: written last */
  if (zero_fill(w->fd, w->pos)) {
    int rc = secw_ioerr(w, e);
    dl_secw_abort(w);
    return rc;
  }
  *out = w;
  return DL_OK;
}

int dl_secw_add(dl_secw *w, const char *name, uint32_t elem, uint64_t count, const void *data, dl_err *e) {
  if (w->n == w->nsec) return dl_errf(e, DL_EINTERNAL, "%s: more than %zu sections", w->path, w->nsec);
  uint64_t off = (w->pos + ALIGN - 1) / ALIGN * ALIGN, bytes = count * elem;
  entry *t = &w->tab[w->n++];
  snprintf(t->name, sizeof t->name, "%s", name);
  t->elem = elem, t->count = count, t->offset = off;
  t->crc = data ? crc_of(data, bytes) : crc_of(zeros, 0);
  if (zero_fill(w->fd, off - w->pos) || (data ? write_all(w->fd, data, bytes) : zero_fill(w->fd, bytes)))
    return secw_ioerr(w, e);
  w->pos = off + bytes;
  return DL_OK;
}

int dl_secw_fill(dl_secw *w, size_t i, const void *data, dl_err *e) {
  if (i >= w->n) return dl_errf(e, DL_EINTERNAL, "%s: section %zu not added", w->path, i);
  uint64_t bytes = w->tab[i].count * w->tab[i].elem;
  w->tab[i].crc = crc_of(data, bytes);
  if (pwrite_all(w->fd, data, bytes, w->tab[i].offset)) return secw_ioerr(w, e);
  return DL_OK;
}

int dl_secw_commit(dl_secw *w, int force, int *unchanged, dl_err *e) {
  int rc = DL_OK;
  if (unchanged) *unchanged = 0;
  if (w->n != w->nsec) {
    rc = dl_errf(e, DL_EINTERNAL, "%s: %zu of %zu sections written", w->path, w->n, w->nsec);
    dl_secw_abort(w);
    return rc;
  }
  uint64_t size = (w->pos + ALIGN - 1) / ALIGN * ALIGN;
  uint8_t hdr[HDR];
  memset(hdr, 0, sizeof hdr);
  memcpy(hdr, w->magic, 8);
  uint32_t bom = BOM, ns = (uint32_t)w->nsec, hcrc;
  memcpy(hdr + 8, &w->version, 4);
  memcpy(hdr + 12, &bom, 4);
  memcpy(hdr + 16, &ns, 4);
  memcpy(hdr + 24, &size, 8);
  hcrc = crc_of(hdr, HDR);
  hcrc = (uint32_t)crc32_z(hcrc, (const Bytef *)w->tab, w->nsec * ENT);
  memcpy(hdr + 20, &hcrc, 4);
  if (zero_fill(w->fd, size - w->pos) || pwrite_all(w->fd, hdr, HDR, 0) ||
      pwrite_all(w->fd, w->tab, w->nsec * ENT, HDR) || fsync(w->fd)) {
    rc = secw_ioerr(w, e);
    dl_secw_abort(w);
    return rc;
  }
  int fd = w->fd;
  w->fd = -1;
  if (close(fd)) {
    rc = secw_ioerr(w, e);
    unlink(w->tmp);
    dl_secw_abort(w);
    return rc;
  }
  struct stat st;
  if (!force && stat(w->path, &st) == 0) { /* an existing file: kept when identical, else refused */
    if (same_bytes(w->tmp, w->path)) {
      if (unchanged) *unchanged = 1;
    } else {
      rc = dl_errf(e, DL_EEXIST, "%s exists and differs (use --force to overwrite)", w->path);
    }
    unlink(w->tmp);
  } else if (rename(w->tmp, w->path)) {
    rc = dl_errf(e, DL_ECANTCREAT, "%s: cannot rename the temporary file into place: %s", w->path, strerror(errno));
    unlink(w->tmp);
  } else {
    char *dup = strdup(w->path);
    int dfd = dup ? open(dirname(dup), O_RDONLY | O_DIRECTORY) : -1;
    if (dfd >= 0) {
      fsync(dfd); /* make the rename durable */
      close(dfd);
    }
    free(dup);
  }
  dl_secw_abort(w);
  return rc;
}

int dl_secfile_write(const char *path, const char magic[8], uint32_t version, const dl_section *sec,
                     size_t n, int force, int *unchanged, dl_err *e) {
  dl_secw *w;
  int rc = dl_secw_open(path, magic, version, n, &w, e);
  for (size_t i = 0; !rc && i < n; i++) {
    rc = dl_secw_add(w, sec[i].name, sec[i].elem, sec[i].count, sec[i].data, e);
    if (rc) dl_secw_abort(w);
  }
  return rc ? rc : dl_secw_commit(w, force, unchanged, e);
}

int dl_secfile_open(const char *path, const char magic[8], uint32_t version, dl_secfile **out,
                    dl_err *e) {
  *out = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return dl_errf(e, DL_ENOINPUT, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
    close(fd);
    return dl_errf(e, DL_ENOINPUT, "%s: not a regular file", path);
  }
  size_t size = (size_t)st.st_size;
  if (size < HDR) {
    close(fd);
    return dl_errf(e, DL_EFORMAT, "%s: truncated: %zu bytes, a network file has at least %d", path, size, HDR);
  }
  void *m = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (m == MAP_FAILED) return dl_errf(e, DL_EIO, "%s: cannot map: %s", path, strerror(errno));
  const uint8_t *b = m;
  int rc = DL_EFORMAT;
  uint32_t ver, bom, ns, hcrc;
  uint64_t fsize;
  memcpy(&ver, b + 8, 4), memcpy(&bom, b + 12, 4), memcpy(&ns, b + 16, 4), memcpy(&hcrc, b + 20, 4);
  memcpy(&fsize, b + 24, 8);
  if (memcmp(b, magic, 8)) {
    dl_errf(e, rc, "%s: not a dustload network file (bad magic)", path);
    goto bad;
  }
  if (bom != BOM) {
    dl_errf(e, rc, "%s: written with the other byte order (mark %08x)", path, bom);
    goto bad;
  }
  if (ver != version) {
    dl_errf(e, rc, "%s: format version %u, this dustload reads version %u (re-import the network)", path, ver,
            version);
    goto bad;
  }
  if (fsize != size) {
    dl_errf(e, rc, "%s: %s: header says %llu bytes, the file has %zu", path,
            size < fsize ? "truncated" : "has extra bytes", (unsigned long long)fsize, size);
    goto bad;
  }
  if (ns > MAX_SECTIONS || HDR + (uint64_t)ns * ENT > size) {
    dl_errf(e, rc, "%s: section table of %u entries does not fit", path, ns);
    goto bad;
  }
  uint8_t h0[HDR];
  memcpy(h0, b, HDR);
  memset(h0 + 20, 0, 4);
  uint32_t c = (uint32_t)crc32_z(crc_of(h0, HDR), b + HDR, (z_size_t)ns * ENT);
  if (c != hcrc) {
    dl_errf(e, rc, "%s: header checksum mismatch (corrupted file)", path);
    goto bad;
  }
  const entry *t = (const entry *)(b + HDR);
  uint64_t prev_end = HDR + (uint64_t)ns * ENT;
  for (uint32_t i = 0; i <= ns; i++) {
    if (i == ns) { /* trailing padding: zero too */
      for (uint64_t k = prev_end; k < size; k++)
        if (b[k]) {
          dl_errf(e, rc, "%s: non-zero byte at %llu after the last section (corrupted file)", path,
                  (unsigned long long)k);
          goto bad;
        }
      break;
    }
    char nm[17];
    memcpy(nm, t[i].name, 16);
    nm[16] = 0;
    uint64_t bytes = t[i].count * (uint64_t)t[i].elem;
    if (t[i].elem == 0 || t[i].elem > 4096 || t[i].count > size / t[i].elem || t[i].offset % ALIGN ||
        t[i].offset > size || bytes > size - t[i].offset || memchr(t[i].name, 0, 16) == NULL) {
      dl_errf(e, rc, "%s: section %u ('%s') lies outside the file", path, i, nm);
      goto bad;
    }
    if (t[i].offset < prev_end) {
      dl_errf(e, rc, "%s: section '%s' overlaps the one before it", path, nm);
      goto bad;
    }
    for (uint64_t k = prev_end; k < t[i].offset; k++) /* alignment padding is not checksummed: must be 0 */
      if (b[k]) {
        dl_errf(e, rc, "%s: non-zero padding byte at %llu before section '%s' (corrupted file)", path,
                (unsigned long long)k, nm);
        goto bad;
      }
    prev_end = t[i].offset + bytes;
    if (crc_of(b + t[i].offset, bytes) != t[i].crc) {
      dl_errf(e, rc, "%s: section '%s' checksum mismatch (corrupted file)", path, nm);
      goto bad;
    }
  }
  dl_secfile *f = malloc(sizeof *f);
  if (!f) {
    munmap(m, size);
    return dl_errf(e, DL_ENOMEM, "%s: out of memory", path);
  }
  f->base = b, f->size = size, f->nsec = ns, f->ent = t;
  *out = f;
  return DL_OK;
bad:
  munmap(m, size);
  return rc;
}

const void *dl_secfile_get(const dl_secfile *f, const char *name, uint32_t elem, uint64_t *count) {
  *count = 0;
  for (uint32_t i = 0; i < f->nsec; i++)
    if (!strncmp(f->ent[i].name, name, 16)) {
      if (f->ent[i].elem != elem) return NULL;
      *count = f->ent[i].count;
      return f->base + f->ent[i].offset;
    }
  return NULL;
}

uint64_t dl_secfile_size(const dl_secfile *f) { return f->size; }

void dl_secfile_close(dl_secfile *f) {
  if (!f) return;
  munmap((void *)f->base, f->size);
  free(f);
}
