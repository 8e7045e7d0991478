/* netopen.c: binds the sections of a network file to the dl_net view. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dl_netio.h"
#include "dl_netbuild.h"
#include "dl_netopen.h"

static const char MAGIC[8] = {'D', 'L', 'N', 'E', 'T', '\r', '\n', 0x1a};

/* Scalars of the view, stored as the "meta" section. */
typedef struct meta {
  uint32_t n_nodes, n_segs, n_vtx, n_edges, n_roads, n_townships, n_districts, n_str;
  int32_t epsg;
  uint32_t grid_nx, grid_ny, n_items;
  double bbox[4], grid_x0, grid_y0, grid_cell;
} meta;

struct dl_netfile {
  dl_secfile *f;
};

static uint64_t count_of(const dl_net *n, int c) {
  switch (c) {
    case 0: return n->n_nodes;
    case 1: return (uint64_t)n->n_nodes + 1;
    case 2: return n->n_edges;
    case 3: return n->n_segs;
    case 4: return (uint64_t)n->n_segs + 1;
    case 5: return n->n_vtx;
    case 6: return n->n_roads;
    case 7: return n->n_townships;
    case 8: return n->n_districts;
    case 9: return n->n_str;
    case 10: return (uint64_t)n->grid_nx * n->grid_ny + 1;
    default: return n->n_items;
  }
}

/* The file: "meta" first (written last, when the scalars are known), then
 * the arrays in the order of dl_net_cols. */
struct dl_netwriter {
  dl_secw *w;
};

int dl_netwriter_open(const char *path, dl_netwriter **out, dl_err *e) {
  *out = NULL;
  dl_netwriter *nw = malloc(sizeof *nw);
  if (!nw) return dl_errf(e, DL_ENOMEM, "%s: out of memory", path);
  int rc = dl_secw_open(path, MAGIC, DL_NETFILE_VERSION, dl_net_ncols + 1, &nw->w, e);
  if (!rc && (rc = dl_secw_add(nw->w, "meta", sizeof(meta), 1, NULL, e))) dl_secw_abort(nw->w);
  if (rc) {
    free(nw);
    return rc;
  }
  *out = nw;
  return DL_OK;
}

int dl_netwriter_put(dl_netwriter *nw, const dl_netcol *col, uint64_t count, const void *data, dl_err *e) {
  return dl_secw_add(nw->w, col->name, col->elem, count, data, e);
}

int dl_netwriter_close(dl_netwriter *nw, const dl_net *n, int force, int *unchanged, dl_err *e) {
  meta m;
  memset(&m, 0, sizeof m);
  m.n_nodes = n->n_nodes, m.n_segs = n->n_segs, m.n_vtx = n->n_vtx, m.n_edges = n->n_edges;
  m.n_roads = n->n_roads, m.n_townships = n->n_townships, m.n_districts = n->n_districts;
  m.n_str = n->n_str, m.epsg = n->epsg, m.grid_nx = n->grid_nx, m.grid_ny = n->grid_ny;
  m.n_items = n->n_items;
  memcpy(m.bbox, n->bbox, sizeof m.bbox);
  m.grid_x0 = n->grid_x0, m.grid_y0 = n->grid_y0, m.grid_cell = n->grid_cell;
  int rc = dl_secw_fill(nw->w, 0, &m, e);
  if (rc) dl_secw_abort(nw->w);
  else rc = dl_secw_commit(nw->w, force, unchanged, e);
  free(nw);
  return rc;
}

void dl_netwriter_abort(dl_netwriter *nw) {
  if (!nw) return;
  dl_secw_abort(nw->w);
  free(nw);
}

int dl_network_save(const char *path, const dl_net *n, int force, int *unchanged, dl_err *e) {
  dl_netwriter *nw;
  int rc = dl_netwriter_open(path, &nw, e);
  for (size_t i = 0; !rc && i < dl_net_ncols; i++) {
    const dl_netcol *c = &dl_net_cols[i];
    rc = dl_netwriter_put(nw, c, count_of(n, c->cnt), *(const void *const *)((const char *)n + c->off), e);
    if (rc) dl_netwriter_abort(nw);
  }
  return rc ? rc : dl_netwriter_close(nw, n, force, unchanged, e);
}

int dl_network_open(const char *path, dl_net *n, dl_netfile **h, dl_err *e) {
  memset(n, 0, sizeof *n);
  *h = NULL;
  dl_secfile *f;
  int rc = dl_secfile_open(path, MAGIC, DL_NETFILE_VERSION, &f, e);
  if (rc) return rc;
  uint64_t c;
  const meta *m = dl_secfile_get(f, "meta", sizeof *m, &c);
  if (!m || c != 1) {
    dl_secfile_close(f);
    return dl_errf(e, DL_EFORMAT, "%s: no valid 'meta' section", path);
  }
  n->n_nodes = m->n_nodes, n->n_segs = m->n_segs, n->n_vtx = m->n_vtx, n->n_edges = m->n_edges;
  n->n_roads = m->n_roads, n->n_townships = m->n_townships, n->n_districts = m->n_districts;
  n->n_str = m->n_str, n->epsg = m->epsg, n->grid_nx = m->grid_nx, n->grid_ny = m->grid_ny;
  n->n_items = m->n_items;
  memcpy(n->bbox, m->bbox, sizeof n->bbox);
  n->grid_x0 = m->grid_x0, n->grid_y0 = m->grid_y0, n->grid_cell = m->grid_cell;
  if ((uint64_t)n->grid_nx * n->grid_ny > (1u << 30)) {
    dl_secfile_close(f);
    return dl_errf(e, DL_EFORMAT, "%s: grid of %u x %u cells", path, n->grid_nx, n->grid_ny);
  }
  for (size_t i = 0; i < dl_net_ncols; i++) {
    const dl_netcol *col = &dl_net_cols[i];
    const void *p = dl_secfile_get(f, col->name, col->elem, &c);
    uint64_t want = count_of(n, col->cnt);
    if (!p || c != want) {
      dl_secfile_close(f);
      return dl_errf(e, DL_EFORMAT, "%s: section '%s' %s (%llu elements, expected %llu)", path, col->name,
                     p ? "has the wrong size" : "missing or of the wrong type", (unsigned long long)c,
                     (unsigned long long)want);
    }
    *(const void **)((char *)n + col->off) = p;
  }
  char why[256];
  if (dl_net_check(n, why, sizeof why) != DL_OK) {
    dl_secfile_close(f);
    memset(n, 0, sizeof *n);
    return dl_errf(e, DL_EFORMAT, "%s: inconsistent network: %s", path, why);
  }
  dl_netfile *nf = malloc(sizeof *nf);
  if (!nf) {
    dl_secfile_close(f);
    return dl_errf(e, DL_ENOMEM, "%s: out of memory", path);
  }
  nf->f = f;
  *h = nf;
  return DL_OK;
}

void dl_network_close(dl_netfile *h) {
  if (!h) return;
  dl_secfile_close(h->f);
  free(h);
}

uint64_t dl_network_file_size(const dl_netfile *h) { return dl_secfile_size(h->f); }
