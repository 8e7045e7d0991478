/* osm.c: reads OpenStreetMap nodes and ways (.osm XML with readosm,
 * .osm.pbf with its own streaming decoder), keeping only what the road
 * network needs. */
#include <math.h>
#include <readosm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <zlib.h>

#include "dl_netio.h"

typedef struct ctx {
  dl_osm *o;
  int oom;
  uint32_t *seen;   /* open addressing over pool offsets (0 = empty slot) */
  size_t n_seen, cap_seen;
} ctx;

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 0;
  size_t c = *cap ? *cap : 1024;
  while (c < need) c *= 2;
  void *q = realloc(*p, c * elem);
  if (!q) return -1;
  *p = q;
  *cap = c;
  return 0;
}

static size_t str_hash(const char *s) {
  size_t h = 2166136261u;
  while (*s) h = (h ^ (unsigned char)*s++) * 16777619u;
  return h;
}

/* Offset of s in the pool, appended on first sight (tag values repeat:
 * highway=residential thousands of times); 0 on failure (offset 0 is ""). */
static uint32_t pool_add(ctx *c, const char *s) {
  dl_osm *o = c->o;
  if (2 * (c->n_seen + 1) > c->cap_seen) { /* rehash at half full */
    size_t cap = c->cap_seen ? 2 * c->cap_seen : 4096;
    uint32_t *t = calloc(cap, sizeof *t);
    if (!t) {
      c->oom = 1;
      return 0;
    }
    for (size_t i = 0; i < c->cap_seen; i++)
      if (c->seen[i]) {
        size_t h = str_hash(o->str + c->seen[i]) & (cap - 1);
        while (t[h]) h = (h + 1) & (cap - 1);
        t[h] = c->seen[i];
      }
    free(c->seen);
    c->seen = t, c->cap_seen = cap;
  }
  size_t h = str_hash(s) & (c->cap_seen - 1);
  for (; c->seen[h]; h = (h + 1) & (c->cap_seen - 1))
    if (!strcmp(o->str + c->seen[h], s)) return c->seen[h];
  size_t n = strlen(s);
  if (o->n_str + n + 1 > UINT32_MAX || grow((void **)&o->str, &o->cap_str, o->n_str + n + 1, 1)) {
    c->oom = 1;
    return 0;
  }
  uint32_t off = (uint32_t)o->n_str;
  memcpy(o->str + o->n_str, s, n + 1);
  o->n_str += n + 1;
  c->seen[h] = off;
  c->n_seen++;
  return off;
}

/* Adds one node; a node without a valid position is counted and skipped. */
static int add_node(ctx *c, int64_t id, double lat, double lon) {
  dl_osm *o = c->o;
  if (!(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180)) {
    o->nodes_bad_coord++;
    return 0;
  }
  size_t cap = o->cap_nodes;
  if (o->n_nodes == cap) {
    size_t c1 = cap, c2 = cap, c3 = cap;
    if (grow((void **)&o->node_id, &c1, o->n_nodes + 1, 8) || grow((void **)&o->node_lat, &c2, o->n_nodes + 1, 8) ||
        grow((void **)&o->node_lon, &c3, o->n_nodes + 1, 8)) {
      c->oom = 1;
      return -1;
    }
    o->cap_nodes = c1 < c2 ? (c1 < c3 ? c1 : c3) : (c2 < c3 ? c2 : c3);
  }
  o->node_id[o->n_nodes] = id;
  o->node_lat[o->n_nodes] = lat;
  o->node_lon[o->n_nodes] = lon;
  o->n_nodes++;
  return 0;
}

/* Room for one more way and n more node references. */
static int way_room(ctx *c, size_t n) {
  dl_osm *o = c->o;
  size_t cap = o->cap_ways;
  if (o->n_ways + 1 >= cap) {
    size_t need = o->n_ways + 2, cs[8] = {cap, cap, cap, cap, cap, cap, cap, cap};
    void **arr[8] = {(void **)&o->way_id, (void **)&o->way_nd, (void **)&o->way_highway, (void **)&o->way_oneway,
                     (void **)&o->way_junction, (void **)&o->way_name, (void **)&o->way_ref,
                     (void **)&o->way_maxspeed};
    size_t el[8] = {8, 8, 4, 4, 4, 4, 4, 4};
    for (int i = 0; i < 8; i++)
      if (grow(arr[i], &cs[i], need, el[i])) {
        c->oom = 1;
        return -1;
      }
    o->cap_ways = cs[0];
    for (int i = 1; i < 8; i++)
      if (cs[i] < o->cap_ways) o->cap_ways = cs[i];
    if (o->n_ways == 0) o->way_nd[0] = 0;
  }
  if (grow((void **)&o->nd_ref, &o->cap_refs, o->n_refs + n, 8)) {
    c->oom = 1;
    return -1;
  }
  return 0;
}

/* Closes way n_ways (its n_refs references already appended): id, highway. */
static size_t way_add(ctx *c, int64_t id, const char *hw) {
  dl_osm *o = c->o;
  size_t k = o->n_ways++;
  o->way_id[k] = id;
  o->way_nd[k + 1] = o->n_refs;
  o->way_highway[k] = pool_add(c, hw);
  o->way_oneway[k] = o->way_junction[k] = o->way_name[k] = o->way_ref[k] = o->way_maxspeed[k] = 0;
  return k;
}

/* Keeps tag key=v of way k when the network uses it. */
static void way_tag(ctx *c, size_t k, const char *key, const char *v) {
  dl_osm *o = c->o;
  uint32_t *dst = !strcmp(key, "oneway")     ? &o->way_oneway[k]
                  : !strcmp(key, "junction") ? &o->way_junction[k]
                  : !strcmp(key, "name")     ? &o->way_name[k]
                  : !strcmp(key, "ref")      ? &o->way_ref[k]
                  : !strcmp(key, "maxspeed") ? &o->way_maxspeed[k]
                                             : NULL;
  if (dst && v && *v) *dst = pool_add(c, v);
}

static int on_node(const void *user, const readosm_node *nd) {
  return add_node((ctx *)user, nd->id, nd->latitude, nd->longitude) ? READOSM_ABORT : READOSM_OK;
}

static int on_way(const void *user, const readosm_way *w) {
  ctx *c = (ctx *)user;
  dl_osm *o = c->o;
  const char *hw = NULL;
  for (int i = 0; i < w->tag_count; i++)
    if (!strcmp(w->tags[i].key, "highway")) hw = w->tags[i].value;
  if (!hw) return READOSM_OK; /* not a road of any kind: not even counted */
  size_t n = w->node_ref_count > 0 ? (size_t)w->node_ref_count : 0;
  if (way_room(c, n)) return READOSM_ABORT;
  for (size_t i = 0; i < n; i++) o->nd_ref[o->n_refs + i] = w->node_refs[i];
  o->n_refs += n;
  size_t k = way_add(c, w->id, hw);
  for (int i = 0; i < w->tag_count; i++) way_tag(c, k, w->tags[i].key, w->tags[i].value);
  return c->oom ? READOSM_ABORT : READOSM_OK;
}

/* ---- .osm.pbf --------------------------------------------------------
 * Read here rather than with readosm, whose PBF reader keeps ~5 MB of
 * per-block structures for a 0.5 MB file: one blob at a time, decoded
 * straight into the arrays above. Format: a sequence of (4-byte big-endian
 * length, BlobHeader, Blob); a Blob holds a zlib (or raw) OSMHeader or
 * PrimitiveBlock, both protocol buffers. */
#define PBF_MAX_HEADER (64u << 10) /* limits of the format's specification */
#define PBF_MAX_BLOB (32u << 20)

typedef struct pb {
  const uint8_t *p, *e;
} pb;

static int pb_varint(pb *b, uint64_t *v) {
  uint64_t r = 0;
  for (int s = 0; s < 64 && b->p < b->e; s += 7) {
    uint8_t x = *b->p++;
    r |= (uint64_t)(x & 0x7f) << s;
    if (!(x & 0x80)) {
      *v = r;
      return 0;
    }
  }
  return -1;
}

static int64_t unzig(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

/* Next field of message b: its number, wire type (0 varint in *v, 2 bytes
 * in *sub; 1 and 5 skipped). 1 at the end, 0 ok, -1 malformed. */
static int pb_next(pb *b, uint32_t *f, int *wt, uint64_t *v, pb *sub) {
  if (b->p >= b->e) return 1;
  uint64_t key, n;
  if (pb_varint(b, &key) || key >> 32) return -1;
  *f = (uint32_t)(key >> 3), *wt = (int)(key & 7), *v = 0;
  switch (*wt) {
    case 0: return pb_varint(b, v);
    case 1: n = 8; break;
    case 5: n = 4; break;
    case 2:
      if (pb_varint(b, &n) || n > (uint64_t)(b->e - b->p)) return -1;
      sub->p = b->p, sub->e = b->p + n;
      *v = n;
      break;
    default: return -1;
  }
  if (n > (uint64_t)(b->e - b->p)) return -1;
  b->p += n;
  return 0;
}

/* Number of varints in a packed field. */
static size_t pb_count(pb b) {
  size_t n = 0;
  for (; b.p < b.e; b.p++) n += !(*b.p & 0x80);
  return n;
}

typedef struct pbf {
  ctx *c;
  const char *path;
  dl_err *e;
  long long at;        /* file offset of the current blob, for messages */
  char *sbuf;          /* the block's string table, NUL-terminated copies */
  size_t cap_sbuf;
  uint32_t *soff;      /* string i at sbuf + soff[i] */
  size_t n_s, cap_soff;
} pbf;

static int pbf_bad(pbf *r, const char *what) {
  return dl_errf(r->e, DL_EFORMAT, "%s: PBF blob at byte %lld: %s", r->path, r->at, what);
}

static int pbf_strings(pbf *r, pb st) {
  uint32_t f;
  int wt;
  uint64_t v;
  pb s = {0};
  size_t used = 0;
  r->n_s = 0;
  for (int k; (k = pb_next(&st, &f, &wt, &v, &s)) != 1;) {
    if (k) return pbf_bad(r, "malformed string table");
    if (f != 1 || wt != 2) continue;
    if (grow((void **)&r->sbuf, &r->cap_sbuf, used + v + 1, 1) ||
        grow((void **)&r->soff, &r->cap_soff, r->n_s + 1, sizeof *r->soff)) {
      r->c->oom = 1;
      return dl_errf(r->e, DL_ENOMEM, "%s: out of memory", r->path);
    }
    memcpy(r->sbuf + used, s.p, v);
    r->sbuf[used + v] = 0;
    r->soff[r->n_s++] = (uint32_t)used;
    used += v + 1;
  }
  return 0;
}

static const char *pbf_str(const pbf *r, uint64_t i) { return i < r->n_s ? r->sbuf + r->soff[i] : NULL; }

/* Degrees of a raw coordinate, computed as readosm does (the same doubles). */
static double pbf_deg(int64_t off, int64_t gran, int64_t raw) {
  return (double)(int64_t)((uint64_t)off + (uint64_t)gran * (uint64_t)raw) / 1000000000.0;
}

/* Delta decoding; wraps (never overflows) on junk input. */
static int64_t add64(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }

static int pbf_dense(pbf *r, pb d, int64_t gran, int64_t lat0, int64_t lon0) {
  pb id = {0}, la = {0}, lo = {0}, s = {0};
  uint32_t f;
  int wt;
  uint64_t v, a, b2, c2;
  for (int k; (k = pb_next(&d, &f, &wt, &v, &s)) != 1;) {
    if (k) return pbf_bad(r, "malformed dense nodes");
    if (wt == 2 && f == 1) id = s;
    else if (wt == 2 && f == 8) la = s;
    else if (wt == 2 && f == 9) lo = s;
  }
  int64_t i = 0, y = 0, x = 0;
  while (id.p < id.e) {
    if (pb_varint(&id, &a) || pb_varint(&la, &b2) || pb_varint(&lo, &c2))
      return pbf_bad(r, "dense nodes: id, lat and lon lists of different lengths");
    i = add64(i, unzig(a)), y = add64(y, unzig(b2)), x = add64(x, unzig(c2));
    if (add_node(r->c, i, pbf_deg(lat0, gran, y), pbf_deg(lon0, gran, x)))
      return dl_errf(r->e, DL_ENOMEM, "%s: out of memory", r->path);
  }
  return 0;
}

static int pbf_node(pbf *r, pb d, int64_t gran, int64_t lat0, int64_t lon0) {
  pb s = {0};
  uint32_t f;
  int wt;
  uint64_t v;
  int64_t id = 0, y = 0, x = 0;
  for (int k; (k = pb_next(&d, &f, &wt, &v, &s)) != 1;) {
    if (k) return pbf_bad(r, "malformed node");
    if (wt != 0) continue;
    if (f == 1) id = unzig(v);
    else if (f == 8) y = unzig(v);
    else if (f == 9) x = unzig(v);
  }
  if (add_node(r->c, id, pbf_deg(lat0, gran, y), pbf_deg(lon0, gran, x)))
    return dl_errf(r->e, DL_ENOMEM, "%s: out of memory", r->path);
  return 0;
}

static int pbf_way(pbf *r, pb d) {
  pb keys = {0}, vals = {0}, refs = {0}, s = {0};
  uint32_t f;
  int wt;
  uint64_t v, ki, vi;
  int64_t id = 0;
  for (int k; (k = pb_next(&d, &f, &wt, &v, &s)) != 1;) {
    if (k) return pbf_bad(r, "malformed way");
    if (f == 1 && wt == 0) id = (int64_t)v;
    else if (f == 2 && wt == 2) keys = s;
    else if (f == 3 && wt == 2) vals = s;
    else if (f == 8 && wt == 2) refs = s;
  }
  const char *hw = NULL;
  for (pb kk = keys, vv = vals; kk.p < kk.e;) { /* the last highway tag, as with readosm */
    if (pb_varint(&kk, &ki) || pb_varint(&vv, &vi) || !pbf_str(r, ki) || !pbf_str(r, vi))
      return pbf_bad(r, "way tags: bad string index or keys and values of different lengths");
    if (!strcmp(pbf_str(r, ki), "highway")) hw = pbf_str(r, vi);
  }
  if (!hw) return 0;
  dl_osm *o = r->c->o;
  size_t n = pb_count(refs);
  if (way_room(r->c, n)) return dl_errf(r->e, DL_ENOMEM, "%s: out of memory", r->path);
  int64_t ref = 0;
  for (size_t i = 0; i < n; i++) {
    if (pb_varint(&refs, &v)) return pbf_bad(r, "malformed way node list");
    ref = add64(ref, unzig(v));
    o->nd_ref[o->n_refs + i] = ref;
  }
  o->n_refs += n;
  size_t k = way_add(r->c, id, hw);
  for (pb kk = keys, vv = vals; kk.p < kk.e;) {
    pb_varint(&kk, &ki), pb_varint(&vv, &vi); /* checked above */
    way_tag(r->c, k, pbf_str(r, ki), pbf_str(r, vi));
  }
  return r->c->oom ? dl_errf(r->e, DL_ENOMEM, "%s: out of memory", r->path) : 0;
}

static int pbf_block(pbf *r, pb blk) {
  pb b = blk, s = {0}, st = {0};
  uint32_t f;
  int wt, k;
  uint64_t v;
  int64_t gran = 100, lat0 = 0, lon0 = 0;
  while ((k = pb_next(&b, &f, &wt, &v, &s)) != 1) {
    if (k) return pbf_bad(r, "malformed primitive block");
    if (f == 1 && wt == 2) st = s;
    else if (f == 17 && wt == 0) gran = (int32_t)v;
    else if (f == 19 && wt == 0) lat0 = (int64_t)v;
    else if (f == 20 && wt == 0) lon0 = (int64_t)v;
  }
  if ((k = pbf_strings(r, st))) return k;
  for (b = blk; pb_next(&b, &f, &wt, &v, &s) != 1;) {
    if (f != 2 || wt != 2) continue;
    pb g = s, m = {0};
    while ((k = pb_next(&g, &f, &wt, &v, &m)) != 1) {
      if (k) return pbf_bad(r, "malformed primitive group");
      if (wt != 2) continue;
      if (f == 1) k = pbf_node(r, m, gran, lat0, lon0);
      else if (f == 2) k = pbf_dense(r, m, gran, lat0, lon0);
      else if (f == 3) k = pbf_way(r, m);
      if (k) return k;
    }
  }
  return 0;
}

static int pbf_header(pbf *r, pb h) {
  pb s = {0};
  uint32_t f;
  int wt, k;
  uint64_t v;
  while ((k = pb_next(&h, &f, &wt, &v, &s)) != 1) {
    if (k) return pbf_bad(r, "malformed OSMHeader");
    if (f != 4 || wt != 2) continue; /* required_features */
    if ((v == 14 && !memcmp(s.p, "OsmSchema-V0.6", 14)) || (v == 10 && !memcmp(s.p, "DenseNodes", 10))) continue;
    return dl_errf(r->e, DL_EFORMAT, "%s: requires the PBF feature '%.*s', which this reader does not support",
                   r->path, (int)(v > 64 ? 64 : v), (const char *)s.p);
  }
  return 0;
}

/* Reads exactly n bytes: 0, or 1 at a clean end of file (n bytes missing,
 * none read), or -1 (truncated or read error). */
static int read_n(FILE *f, void *p, size_t n) {
  size_t k = fread(p, 1, n, f);
  return k == n ? 0 : (k == 0 && feof(f) && !ferror(f)) ? 1 : -1;
}

static int pbf_read(const char *path, ctx *c, dl_err *e) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return dl_errf(e, DL_ENOINPUT, "%s: cannot open OSM file", path);
  pbf r = {c, path, e, 0, NULL, 0, NULL, 0, 0};
  uint8_t *hbuf = malloc(PBF_MAX_HEADER), *blob = NULL, *raw = NULL;
  size_t cap_blob = 0, cap_raw = 0;
  int rc = hbuf ? 0 : dl_errf(e, DL_ENOMEM, "%s: out of memory", path), first = 1;
  z_stream z;
  memset(&z, 0, sizeof z);
  int zok = !rc && inflateInit(&z) == Z_OK;
  if (!rc && !zok) rc = dl_errf(e, DL_ENOMEM, "%s: zlib: out of memory", path);
  while (!rc) {
    uint8_t l4[4];
    r.at = ftello(fp);
    int k = read_n(fp, l4, 4);
    if (k == 1 && !first) break;
    uint32_t hl = (uint32_t)l4[0] << 24 | (uint32_t)l4[1] << 16 | (uint32_t)l4[2] << 8 | l4[3];
    if (k || hl == 0 || hl > PBF_MAX_HEADER) {
      rc = k == 1 ? dl_errf(e, DL_EFORMAT, "%s: empty file, expected OSM PBF", path)
                  : k ? pbf_bad(&r, "truncated blob header length")
                      : dl_errf(e, DL_EFORMAT, "%s: byte %lld: blob header length %u, not OSM PBF (at most %u)",
                                path, r.at, hl, PBF_MAX_HEADER);
      break;
    }
    if (read_n(fp, hbuf, hl)) {
      rc = pbf_bad(&r, "truncated blob header");
      break;
    }
    pb h = {hbuf, hbuf + hl}, s = {0}, type = {0};
    uint32_t f;
    int wt;
    uint64_t v, dsize = UINT64_MAX, rsize = 0;
    while ((k = pb_next(&h, &f, &wt, &v, &s)) != 1) {
      if (k) break;
      if (f == 1 && wt == 2) type = s;
      else if (f == 3 && wt == 0) dsize = v;
    }
    if (k != 1 || !type.p || dsize > PBF_MAX_BLOB) {
      rc = pbf_bad(&r, "malformed blob header (not OSM PBF?)");
      break;
    }
    size_t tl = (size_t)(type.e - type.p);
    int is_hdr = tl == 9 && !memcmp(type.p, "OSMHeader", 9), is_data = tl == 7 && !memcmp(type.p, "OSMData", 7);
    if (first && !is_hdr) {
      rc = pbf_bad(&r, "the first blob is not an OSMHeader (not OSM PBF?)");
      break;
    }
    first = 0;
    if (grow((void **)&blob, &cap_blob, dsize ? dsize : 1, 1)) {
      rc = dl_errf(e, DL_ENOMEM, "%s: out of memory", path);
      break;
    }
    if (read_n(fp, blob, dsize)) {
      rc = pbf_bad(&r, "truncated blob");
      break;
    }
    if (!is_hdr && !is_data) continue; /* unknown blob types are skipped, as the format says */
    pb bl = {blob, blob + dsize}, data = {0}, zdata = {0};
    int other = 0;
    while ((k = pb_next(&bl, &f, &wt, &v, &s)) != 1) {
      if (k) break;
      if (f == 1 && wt == 2) data = s;
      else if (f == 2 && wt == 0) rsize = v;
      else if (f == 3 && wt == 2) zdata = s;
      else if (f >= 4 && f <= 7) other = 1;
    }
    if (k != 1) {
      rc = pbf_bad(&r, "malformed blob");
      break;
    }
    if (zdata.p) {
      if (rsize > PBF_MAX_BLOB) {
        rc = pbf_bad(&r, "uncompressed size over 32 MiB");
        break;
      }
      if (grow((void **)&raw, &cap_raw, rsize ? rsize : 1, 1)) {
        rc = dl_errf(e, DL_ENOMEM, "%s: out of memory", path);
        break;
      }
      inflateReset(&z);
      z.next_in = (Bytef *)zdata.p, z.avail_in = (uInt)(zdata.e - zdata.p);
      z.next_out = raw, z.avail_out = (uInt)rsize;
      int zr = inflate(&z, Z_FINISH);
      if (zr != Z_STREAM_END || z.total_out != rsize) {
        rc = pbf_bad(&r, zr == Z_STREAM_END ? "inflated size differs from the stated one"
                                            : "zlib data does not decompress");
        break;
      }
      data.p = raw, data.e = raw + rsize;
    } else if (!data.p) {
      rc = pbf_bad(&r, other ? "compression other than zlib is not supported" : "blob without data");
      break;
    }
    rc = is_hdr ? pbf_header(&r, data) : pbf_block(&r, data);
  }
  if (!rc && ferror(fp)) rc = dl_errf(e, DL_EIO, "%s: read error", path);
  if (zok) inflateEnd(&z);
  fclose(fp);
  free(hbuf), free(blob), free(raw), free(r.sbuf), free(r.soff);
  return rc;
}

static const char *rosm_msg(int rc) {
  switch (rc) {
    case READOSM_INVALID_SUFFIX: return "the name must end in .osm or .pbf";
    case READOSM_FILE_NOT_FOUND: return "cannot open the file";
    case READOSM_INSUFFICIENT_MEMORY: return "out of memory";
    case READOSM_READ_ERROR: return "read error";
    case READOSM_XML_ERROR: return "malformed XML";
    case READOSM_INVALID_PBF_HEADER: return "invalid PBF header";
    case READOSM_UNZIP_ERROR: return "PBF block does not decompress";
    case READOSM_ABORT: return "aborted";
    default: return "readosm error";
  }
}

/* .osm.pbf with the reader above, .osm with readosm. */
static int read_any(const char *path, ctx *c, dl_err *e) {
  size_t len = strlen(path);
  if (len >= 4 && !strcasecmp(path + len - 4, ".pbf")) return pbf_read(path, c, e);
  const void *h = NULL;
  int rc = readosm_open(path, &h);
  if (rc == READOSM_OK) rc = readosm_parse(h, c, on_node, on_way, NULL);
  readosm_close(h);
  if (c->oom) return dl_errf(e, DL_ENOMEM, "%s: out of memory reading OSM", path);
  if (rc != READOSM_OK) {
    int code = rc == READOSM_FILE_NOT_FOUND ? DL_ENOINPUT : rc == READOSM_INVALID_SUFFIX ? DL_EUSAGE : DL_EFORMAT;
    return dl_errf(e, code, "%s: %s (readosm %d) after %zu nodes and %zu ways", path, rosm_msg(rc), rc,
                   c->o->n_nodes, c->o->n_ways);
  }
  return DL_OK;
}

int dl_osm_read(const char *path, dl_osm *o, dl_err *e) {
  memset(o, 0, sizeof *o);
  if (access(path, R_OK) != 0) return dl_errf(e, DL_ENOINPUT, "%s: cannot open OSM file", path);
  ctx c = {o, 0, NULL, 0, 0};
  int rc = grow((void **)&o->str, &o->cap_str, 1, 1) ? dl_errf(e, DL_ENOMEM, "%s: out of memory", path) : DL_OK;
  if (!rc) {
    o->str[0] = 0, o->n_str = 1; /* offset 0: "" (tag absent) */
    rc = read_any(path, &c, e);
  }
  free(c.seen);
  if (!rc && !o->way_nd && !(o->way_nd = calloc(1, sizeof *o->way_nd))) /* no highway at all */
    rc = dl_errf(e, DL_ENOMEM, "%s: out of memory", path);
  if (rc) dl_osm_free(o);
  return rc;
}

void dl_osm_free(dl_osm *o) {
  if (!o) return;
  free(o->node_id), free(o->node_lat), free(o->node_lon);
  free(o->way_id), free(o->way_nd), free(o->way_highway), free(o->way_oneway), free(o->way_junction);
  free(o->way_name), free(o->way_ref), free(o->way_maxspeed), free(o->nd_ref), free(o->str);
  memset(o, 0, sizeof *o);
}
