/* osm.c: reads OpenStreetMap nodes and ways (.osm XML, .osm.pbf) with
 * readosm, keeping only what the road network needs. */
#include <math.h>
#include <readosm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dl_netio.h"

typedef struct ctx {
  dl_osm *o;
  int oom;
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

/* Appends s to the pool; returns its offset, 0 on failure (offset 0 is ""). */
static uint32_t pool_add(ctx *c, const char *s) {
  dl_osm *o = c->o;
  size_t n = strlen(s);
  if (o->n_str + n + 1 > UINT32_MAX || grow((void **)&o->str, &o->cap_str, o->n_str + n + 1, 1)) {
    c->oom = 1;
    return 0;
  }
  uint32_t off = (uint32_t)o->n_str;
  memcpy(o->str + o->n_str, s, n + 1);
  o->n_str += n + 1;
  return off;
}

static int on_node(const void *user, const readosm_node *nd) {
  ctx *c = (ctx *)user;
  dl_osm *o = c->o;
  if (!(nd->latitude >= -90 && nd->latitude <= 90 && nd->longitude >= -180 && nd->longitude <= 180)) {
    o->nodes_bad_coord++;
    return READOSM_OK;
  }
  size_t cap = o->cap_nodes;
  if (o->n_nodes == cap) {
    size_t c1 = cap, c2 = cap, c3 = cap;
    if (grow((void **)&o->node_id, &c1, o->n_nodes + 1, 8) || grow((void **)&o->node_lat, &c2, o->n_nodes + 1, 8) ||
        grow((void **)&o->node_lon, &c3, o->n_nodes + 1, 8)) {
      c->oom = 1;
      return READOSM_ABORT;
    }
    o->cap_nodes = c1 < c2 ? (c1 < c3 ? c1 : c3) : (c2 < c3 ? c2 : c3);
  }
  o->node_id[o->n_nodes] = nd->id;
  o->node_lat[o->n_nodes] = nd->latitude;
  o->node_lon[o->n_nodes] = nd->longitude;
  o->n_nodes++;
  return READOSM_OK;
}

static int on_way(const void *user, const readosm_way *w) {
  ctx *c = (ctx *)user;
  dl_osm *o = c->o;
  const char *hw = NULL;
  for (int i = 0; i < w->tag_count; i++)
    if (!strcmp(w->tags[i].key, "highway")) hw = w->tags[i].value;
  if (!hw) return READOSM_OK; /* not a road of any kind: not even counted */
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
        return READOSM_ABORT;
      }
    o->cap_ways = cs[0];
    for (int i = 1; i < 8; i++)
      if (cs[i] < o->cap_ways) o->cap_ways = cs[i];
    if (o->n_ways == 0) o->way_nd[0] = 0;
  }
  size_t n = w->node_ref_count > 0 ? (size_t)w->node_ref_count : 0;
  if (grow((void **)&o->nd_ref, &o->cap_refs, o->n_refs + n, 8)) {
    c->oom = 1;
    return READOSM_ABORT;
  }
  for (size_t i = 0; i < n; i++) o->nd_ref[o->n_refs + i] = w->node_refs[i];
  o->n_refs += n;
  size_t k = o->n_ways;
  o->way_id[k] = w->id;
  o->way_nd[k + 1] = o->n_refs;
  o->way_highway[k] = pool_add(c, hw);
  o->way_oneway[k] = o->way_junction[k] = o->way_name[k] = o->way_ref[k] = o->way_maxspeed[k] = 0;
  for (int i = 0; i < w->tag_count; i++) {
    const char *key = w->tags[i].key, *v = w->tags[i].value;
    uint32_t *dst = !strcmp(key, "oneway")     ? &o->way_oneway[k]
                    : !strcmp(key, "junction") ? &o->way_junction[k]
                    : !strcmp(key, "name")     ? &o->way_name[k]
                    : !strcmp(key, "ref")      ? &o->way_ref[k]
                    : !strcmp(key, "maxspeed") ? &o->way_maxspeed[k]
                                               : NULL;
    if (dst && v && *v) *dst = pool_add(c, v);
  }
  o->n_ways++;
  return c->oom ? READOSM_ABORT : READOSM_OK;
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

int dl_osm_read(const char *path, dl_osm *o, dl_err *e) {
  memset(o, 0, sizeof *o);
  if (access(path, R_OK) != 0) return dl_errf(e, DL_ENOINPUT, "%s: cannot open OSM file", path);
  ctx c = {o, 0};
  if (pool_add(&c, "") != 0 || c.oom) return dl_errf(e, DL_ENOMEM, "%s: out of memory", path);
  const void *h = NULL;
  int rc = readosm_open(path, &h);
  if (rc == READOSM_OK) rc = readosm_parse(h, &c, on_node, on_way, NULL);
  readosm_close(h);
  if (c.oom) {
    dl_osm_free(o);
    return dl_errf(e, DL_ENOMEM, "%s: out of memory reading OSM", path);
  }
  if (rc != READOSM_OK) {
    int code = rc == READOSM_FILE_NOT_FOUND ? DL_ENOINPUT : rc == READOSM_INVALID_SUFFIX ? DL_EUSAGE : DL_EFORMAT;
    dl_errf(e, code, "%s: %s (readosm %d) after %zu nodes and %zu ways", path, rosm_msg(rc), rc,
            o->n_nodes, o->n_ways);
    dl_osm_free(o);
    return code;
  }
  if (!o->way_nd) { /* no highway at all: keep the arrays valid */
    o->way_nd = calloc(1, sizeof *o->way_nd);
    if (!o->way_nd) return dl_errf(e, DL_ENOMEM, "%s: out of memory", path);
  }
  return DL_OK;
}

void dl_osm_free(dl_osm *o) {
  if (!o) return;
  free(o->node_id), free(o->node_lat), free(o->node_lon);
  free(o->way_id), free(o->way_nd), free(o->way_highway), free(o->way_oneway), free(o->way_junction);
  free(o->way_name), free(o->way_ref), free(o->way_maxspeed), free(o->nd_ref), free(o->str);
  memset(o, 0, sizeof *o);
}
