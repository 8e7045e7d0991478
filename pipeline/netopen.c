/* netopen.c: binds the sections of a network file to the dl_net view. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dl_netio.h"
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

/* One row per array: section name, element size, which count, offset of the
 * pointer in dl_net. Counts: 0 nodes, 1 nodes+1, 2 edges, 3 segs, 4 segs+1,
 * 5 vtx, 6 roads, 7 townships, 8 districts, 9 str, 10 cells+1, 11 items. */
#define F(name, field, elem, cnt) {name, elem, cnt, offsetof(dl_net, field)}
static const struct {
  const char *name;
  uint32_t elem;
  int cnt;
  size_t off;
} TAB[] = {
    F("node_x", node_x, 8, 0), F("node_y", node_y, 8, 0), F("node_lat", node_lat, 8, 0),
    F("node_lon", node_lon, 8, 0), F("node_osm", node_osm, 8, 0), F("node_edge", node_edge, 4, 1),
    F("edge_from", edge_from, 4, 2), F("edge_to", edge_to, 4, 2), F("edge_seg", edge_seg, 4, 2),
    F("edge_dir", edge_dir, 1, 2), F("edge_len", edge_len, 8, 2),
    F("seg_from", seg_from, 4, 3), F("seg_to", seg_to, 4, 3), F("seg_vtx", seg_vtx, 4, 4),
    F("seg_edge_fwd", seg_edge_fwd, 4, 3), F("seg_edge_bwd", seg_edge_bwd, 4, 3),
    F("seg_len", seg_len, 8, 3), F("seg_maxspeed", seg_maxspeed, 8, 3), F("seg_way", seg_way, 8, 3),
    F("seg_road", seg_road, 4, 3), F("seg_township", seg_township, 4, 3),
    F("seg_district", seg_district, 4, 3), F("seg_name", seg_name, 4, 3), F("seg_ref", seg_ref, 4, 3),
    F("seg_class", seg_class, 1, 3), F("seg_oneway", seg_oneway, 1, 3),
    F("vtx_x", vtx_x, 8, 5), F("vtx_y", vtx_y, 8, 5), F("vtx_lat", vtx_lat, 8, 5),
    F("vtx_lon", vtx_lon, 8, 5), F("vtx_off", vtx_off, 8, 5), F("vtx_seg", vtx_seg, 4, 5),
    F("vtx_head", vtx_head, 8, 5),
    F("road_name", road_name, 4, 6), F("road_class", road_class, 1, 6),
    F("township_name", township_name, 4, 7), F("district_name", district_name, 4, 8),
    F("str", str, 1, 9), F("grid_start", grid_start, 4, 10), F("grid_item", grid_item, 4, 11),
};
#undef F
#define NTAB (sizeof TAB / sizeof TAB[0])

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

int dl_network_save(const char *path, const dl_net *n, int force, int *unchanged, dl_err *e) {
  meta m;
  memset(&m, 0, sizeof m);
  m.n_nodes = n->n_nodes, m.n_segs = n->n_segs, m.n_vtx = n->n_vtx, m.n_edges = n->n_edges;
  m.n_roads = n->n_roads, m.n_townships = n->n_townships, m.n_districts = n->n_districts;
  m.n_str = n->n_str, m.epsg = n->epsg, m.grid_nx = n->grid_nx, m.grid_ny = n->grid_ny;
  m.n_items = n->n_items;
  memcpy(m.bbox, n->bbox, sizeof m.bbox);
  m.grid_x0 = n->grid_x0, m.grid_y0 = n->grid_y0, m.grid_cell = n->grid_cell;
  dl_section sec[NTAB + 1];
  sec[0] = (dl_section){"meta", sizeof m, 1, &m};
  for (size_t i = 0; i < NTAB; i++) {
    const void *p = *(const void *const *)((const char *)n + TAB[i].off);
    sec[i + 1] = (dl_section){TAB[i].name, TAB[i].elem, count_of(n, TAB[i].cnt), p};
  }
  return dl_secfile_write(path, MAGIC, DL_NETFILE_VERSION, sec, NTAB + 1, force, unchanged, e);
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
  for (size_t i = 0; i < NTAB; i++) {
    const void *p = dl_secfile_get(f, TAB[i].name, TAB[i].elem, &c);
    uint64_t want = count_of(n, TAB[i].cnt);
    if (!p || c != want) {
      dl_secfile_close(f);
      return dl_errf(e, DL_EFORMAT, "%s: section '%s' %s (%llu elements, expected %llu)", path, TAB[i].name,
                     p ? "has the wrong size" : "missing or of the wrong type", (unsigned long long)c,
                     (unsigned long long)want);
    }
    *(const void **)((char *)n + TAB[i].off) = p;
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
