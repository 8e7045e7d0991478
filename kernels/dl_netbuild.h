/* dl_netbuild.h: compiling OSM ways and boundary polygons (already read by
 * io/) into a network, streamed array by array to a sink (the import) or
 * kept in heap arrays (dl_netbuild): car-road filter, oneway rules, junction
 * splitting, boundary splitting and labelling, islands, roads, CSR graph and
 * grid index. Also GCJ-02 <-> WGS84. */
#ifndef DL_NETBUILD_H
#define DL_NETBUILD_H

#include "dl_network.h"

/* Raw OSM input: nodes with coordinates (any order), ways with their node
 * references, tags as offsets into a string pool (0 = tag absent). */
typedef struct dl_netsrc {
  size_t n_nodes;
  const int64_t *node_id;
  const double *node_lat, *node_lon, *node_x, *node_y;
  size_t n_ways;
  const int64_t *way_id;
  const uint64_t *way_nd;      /* [n_ways+1] refs of way w: nd_ref[way_nd[w] .. way_nd[w+1]-1] */
  const int64_t *nd_ref;
  const uint32_t *way_highway, *way_oneway, *way_junction, *way_name, *way_ref, *way_maxspeed;
  const char *str;
  size_t n_str;
} dl_netsrc;

/* Boundary polygons (features), each a set of rings; even-odd rule over a
 * feature's rings (so holes and multipolygon parts work). x/y projected. */
typedef struct dl_polyset {
  size_t n_poly;
  const uint32_t *poly_ring;   /* [n_poly+1] rings of polygon p */
  const uint32_t *ring_vtx;    /* [n_ring+1] vertices of ring r */
  const double *x, *y;
  const char *const *name;     /* [n_poly] */
} dl_polyset;

typedef struct dl_netbuild_opts {
  int service;            /* keep highway=service */
  double grid_cell;       /* metres; 0 = default (70: fastest 30 m radius queries on Beijing) */
  double min_island_m;    /* drop connected pieces shorter than this (0 keeps all) */
  int32_t epsg;           /* CRS of node_x/node_y */
} dl_netbuild_opts;

#define DL_NB_MAX_VALUES 24
typedef struct dl_netbuild_report {
  uint64_t nodes_read, ways_read, ways_kept, ways_no_highway, ways_not_car, ways_service_skipped,
      ways_unknown_highway, ways_missing_nodes, missing_refs, ways_too_short, oneway_unknown,
      islands_dropped, island_segments;
  double island_m;
  double length_m;        /* total segment length (as dl_net_length) */
  uint64_t boundary_cuts, segs_outside_township, segs_outside_district;
  /* dropped highway values with counts (not-for-cars and unknown ones) */
  int n_values;
  char value[DL_NB_MAX_VALUES][32];
  uint64_t value_count[DL_NB_MAX_VALUES];
  int value_unknown[DL_NB_MAX_VALUES];
} dl_netbuild_report;

/* The arrays of a network in file order: section name, element size,
 * which count (0 nodes, 1 nodes+1, 2 edges, 3 segs, 4 segs+1, 5 vtx,
 * 6 roads, 7 townships, 8 districts, 9 str, 10 cells+1, 11 items), and
 * the offset of the pointer in dl_net. */
typedef struct dl_netcol {
  const char *name;
  uint32_t elem;
  int cnt;
  size_t off;
} dl_netcol;
extern const dl_netcol dl_net_cols[];
extern const size_t dl_net_ncols;

/* Receives each finished array (count elements of col->elem bytes, heap
 * memory it now owns: it keeps or frees it, also on failure), in the order
 * of dl_net_cols. Returns 0 or a DL_E* status, which stops the build. */
typedef int (*dl_netsink)(void *user, const dl_netcol *col, uint64_t count, void *data);

/* Told (once per array) that an array of src is no longer read: the caller
 * may free it then. */
typedef void (*dl_netsrc_done)(void *user, const void *array);
/* Projects n points (lat/lon degrees -> x/y metres); 0 or a DL_E* status. */
typedef int (*dl_netproject)(void *user, const double *lat, const double *lon, size_t n, double *x, double *y);

/* How dl_netbuild_stream hands the network over and gets help: put receives
 * each finished array; done (may be NULL) learns which src arrays are no
 * longer read; project (needed when src->node_x/node_y are NULL) projects
 * the nodes the network keeps, once they are known. All get user. */
typedef struct dl_netbuild_io {
  dl_netsink put;
  dl_netsrc_done done;
  dl_netproject project;
  void *user;
} dl_netbuild_io;

/* Builds the network and hands each array to io->put as soon as it is
 * complete, so that the whole network is never in memory at once. n receives
 * the scalars (counts, CRS, bbox, grid); its arrays stay NULL. Returns DL_OK,
 * DL_ENOMEM, DL_ENODATA when no road is left, or the status of a callback. */
int dl_netbuild_stream(const dl_netsrc *src, const dl_polyset *town, const dl_polyset *dist,
                       const dl_netbuild_opts *o, const dl_netbuild_io *io, dl_net *n,
                       dl_netbuild_report *rep, dl_err *e);

/* Heap-owned network: net views into the arrays held here. */
typedef struct dl_netbuf {
  dl_net net;
  void *mem[64];
  int n_mem;
} dl_netbuf;

/* Builds the network. town/dist may be NULL (every segment then -1).
 * Returns DL_OK, DL_ENOMEM, or DL_ENODATA when no road is left. */
int dl_netbuild(const dl_netsrc *src, const dl_polyset *town, const dl_polyset *dist,
                const dl_netbuild_opts *o, dl_netbuf *out, dl_netbuild_report *rep, dl_err *e);
void dl_netbuf_free(dl_netbuf *b);

/* Index of the polygon of set p containing (x,y) (lowest index when
 * several do), or -1. Brute force; for tests and small inputs. */
int dl_polyset_locate(const dl_polyset *p, double x, double y);

/* Standard WGS84 -> GCJ-02 forward transform (Krasovsky ellipsoid);
 * identity outside China's rough bounding box, as in the published formula. */
void dl_wgs84_to_gcj02(double lat, double lon, double *glat, double *glon);
/* Inverse by fixed-point iteration, to 1e-10 degrees (~1e-5 m). */
void dl_gcj02_to_wgs84(double glat, double glon, double *lat, double *lon);

#endif
