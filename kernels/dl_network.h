/* dl_network.h: the compiled road network as a read-only view (const
 * pointers + counts) and the queries on it: candidate search (radius and
 * k-nearest over segment pieces, exact point-to-segment distances) and the
 * directed CSR graph. The same view is filled from the mmap'ed file
 * (pipeline/dl_netopen.h: dl_network_open) or from heap arrays (import,
 * unit tests). Nothing here touches a file or a library.
 *
 * Vocabulary: a node is a junction (or a way end, or a boundary split
 * point); a segment is the piece of road between two nodes, shared by both
 * travel directions, with a polyline of vertices; a piece is one straight
 * part of a polyline (vertex v to v+1, both in the same segment; identified
 * by v, the global index of its first vertex); a directed edge belongs to
 * one segment and runs along (dir 0) or against (dir 1) its geometry.
 * Coordinates: x/y metres in the projected CRS `epsg` (UTM), lat/lon WGS84
 * degrees. Segment ids are the public ids (match output, truth files). */
#ifndef DL_NETWORK_H
#define DL_NETWORK_H

#include <stddef.h>
#include <stdint.h>

#include "dl_base.h"

/* Highway classes kept (value, OSM name). Order is stable: stored in files. */
#define DL_HW_MAP(X)                   \
  X(DL_HW_MOTORWAY, "motorway")        \
  X(DL_HW_TRUNK, "trunk")              \
  X(DL_HW_PRIMARY, "primary")          \
  X(DL_HW_SECONDARY, "secondary")      \
  X(DL_HW_TERTIARY, "tertiary")        \
  X(DL_HW_UNCLASSIFIED, "unclassified") \
  X(DL_HW_RESIDENTIAL, "residential")  \
  X(DL_HW_LIVING_STREET, "living_street") \
  X(DL_HW_MOTORWAY_LINK, "motorway_link") \
  X(DL_HW_TRUNK_LINK, "trunk_link")    \
  X(DL_HW_PRIMARY_LINK, "primary_link") \
  X(DL_HW_SECONDARY_LINK, "secondary_link") \
  X(DL_HW_TERTIARY_LINK, "tertiary_link") \
  X(DL_HW_SERVICE, "service")

enum dl_hw_class {
#define DL_X_ENUM(name, s) name,
  DL_HW_MAP(DL_X_ENUM)
#undef DL_X_ENUM
  DL_HW__N
};
/* "motorway", ... ; "?" for an out-of-range value. */
const char *dl_hw_name(int cls);
/* Class of an OSM highway value, or -1 when not a kept class. */
int dl_hw_parse(const char *s);

/* seg_oneway values. One-way segments always have their geometry in the
 * direction of travel (oneway=-1 ways are reversed on import). */
enum { DL_ONEWAY_NO = 0, DL_ONEWAY_YES = 1, DL_ONEWAY_REVERSIBLE = 2 /* both edges exist */ };

#define DL_NET_NONE UINT32_MAX /* "no edge" / "no node" */

typedef struct dl_net {
  uint32_t n_nodes, n_segs, n_vtx, n_edges, n_roads, n_townships, n_districts;
  uint32_t n_str;   /* bytes in the string pool (starts with "\0": offset 0 = "") */
  int32_t epsg;     /* projected CRS of x/y, e.g. 32650 (UTM 50N) */
  double bbox[4];   /* WGS84 lon_min, lat_min, lon_max, lat_max of all vertices */

  /* nodes [n_nodes] */
  const double *node_x, *node_y, *node_lat, *node_lon;
  const int64_t *node_osm;     /* OSM node id; 0 for a boundary split point */
  const uint32_t *node_edge;   /* [n_nodes+1] CSR: out-edges of node i are node_edge[i] .. node_edge[i+1]-1 */

  /* directed edges [n_edges], sorted by from node */
  const uint32_t *edge_from, *edge_to, *edge_seg;
  const uint8_t *edge_dir;     /* 0 along the segment's geometry, 1 against */
  const double *edge_len;      /* metres (= seg_len of its segment) */

  /* segments [n_segs] */
  const uint32_t *seg_from, *seg_to; /* node at the first / last vertex */
  const uint32_t *seg_vtx;     /* [n_segs+1] vertices of s: seg_vtx[s] .. seg_vtx[s+1]-1 (>= 2) */
  const uint32_t *seg_edge_fwd, *seg_edge_bwd; /* directed edge along / against, or DL_NET_NONE */
  const double *seg_len;       /* metres, projected polyline length */
  const double *seg_maxspeed;  /* km/h, NAN when unknown */
  const int64_t *seg_way;      /* OSM way id */
  const uint32_t *seg_road;    /* road id */
  const int32_t *seg_township, *seg_district; /* -1 outside every polygon (or none given) */
  const uint32_t *seg_name, *seg_ref; /* string offsets (0 = none) */
  const uint8_t *seg_class;    /* enum dl_hw_class */
  const uint8_t *seg_oneway;   /* DL_ONEWAY_* */

  /* vertices [n_vtx], grouped by segment */
  const double *vtx_x, *vtx_y, *vtx_lat, *vtx_lon;
  const double *vtx_off;       /* metres from the segment's first vertex */
  const uint32_t *vtx_seg;     /* segment of each vertex */

  /* roads [n_roads]: name, else ref, else "way <id>" */
  const uint32_t *road_name;
  const uint8_t *road_class;   /* the highest (lowest-numbered) class among its segments */

  /* boundary names */
  const uint32_t *township_name, *district_name;
  const char *str;             /* string pool, NUL-terminated UTF-8 strings */

  /* spatial index: uniform grid of nx*ny square cells of side grid_cell
   * metres from (grid_x0, grid_y0); cell (i,j) is index j*nx+i and lists
   * every piece whose straight line touches it. */
  double grid_x0, grid_y0, grid_cell;
  uint32_t grid_nx, grid_ny, n_items;
  const uint32_t *grid_start;  /* [nx*ny+1] */
  const uint32_t *grid_item;   /* [n_items] piece ids (first vertex index) */

  /* added after the first version of this header */
  const double *vtx_head;      /* [n_vtx] heading of piece v, as dl_net_hit.heading; a segment's
                                  last vertex repeats the heading of its last piece */
} dl_net;

static inline const char *dl_net_str(const dl_net *n, uint32_t off) {
  return off < n->n_str ? n->str + off : "";
}

/* Structural check of a view: every count, CSR array and index is
 * consistent and in range, so no query or graph walk can read outside its
 * arrays. Returns DL_OK, or DL_EFORMAT with the first problem in why. */
int dl_net_check(const dl_net *n, char *why, size_t len);

/* ---- candidate search ------------------------------------------------ */
typedef struct dl_net_hit {
  uint32_t seg;      /* segment id */
  uint32_t piece;    /* global first-vertex index of the piece */
  double dist;       /* metres from the query point to the piece */
  double px, py;     /* nearest point on the piece (projected metres) */
  double offset;     /* metres along the segment from its first vertex (seg_from) to (px,py) */
  double heading;    /* piece direction along the geometry, degrees clockwise from grid north, [0,360) */
} dl_net_hit;

/* A per-thread reusable query buffer: results of the last query. It grows
 * (rarely) when a query finds more hits than it holds; otherwise no query
 * allocates. */
typedef struct dl_net_query {
  dl_net_hit *hit;
  size_t n, cap;
} dl_net_query;

int dl_net_query_init(dl_net_query *q, size_t cap);
void dl_net_query_free(dl_net_query *q);

enum {
  DL_NETQ_PER_SEGMENT = 1, /* keep only the nearest piece of each segment */
  DL_NETQ_SORT = 2         /* sort hits by distance (ties by segment, piece) */
};

/* All pieces within r metres of (x,y) (projected) into q->hit[0..q->n-1],
 * each once. Returns DL_OK or DL_ENOMEM (q keeps the hits it had room for). */
int dl_net_radius(const dl_net *n, dl_net_query *q, double x, double y, double r,
                  unsigned flags);

/* The k nearest pieces (or segments with DL_NETQ_PER_SEGMENT) within
 * max_dist metres (INFINITY for no limit), sorted by distance. */
int dl_net_nearest(const dl_net *n, dl_net_query *q, double x, double y, size_t k,
                   double max_dist, unsigned flags);

/* Exact distance from (x,y) to piece v (v and v+1 in one segment); fills
 * the hit. */
void dl_net_piece_hit(const dl_net *n, uint32_t v, double x, double y, dl_net_hit *h);

/* ---- graph ----------------------------------------------------------- */
/* Directed edge of segment s in direction dir (0 along, 1 against), or
 * DL_NET_NONE when travel that way is not allowed. */
static inline uint32_t dl_net_seg_edge(const dl_net *n, uint32_t s, int dir) {
  return dir ? n->seg_edge_bwd[s] : n->seg_edge_fwd[s];
}
/* Position along edge e (0..edge_len) of a point at segment offset off. */
static inline double dl_net_edge_pos(const dl_net *n, uint32_t e, double off) {
  return n->edge_dir[e] ? n->seg_len[n->edge_seg[e]] - off : off;
}

/* Centreline length in metres of all segments (each counted once), and by
 * class (len_by_class[DL_HW__N], may be NULL; counts likewise). */
double dl_net_length(const dl_net *n, double *len_by_class, uint32_t *count_by_class);

#endif
