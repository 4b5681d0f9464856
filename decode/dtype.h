/* PyArray_Descr of NumPy 1.x and 2.x, decoded into a tree, and the strings
 * NumPy derives from it (dtype.str, the array-interface descr, repr). */
#ifndef ND_DTYPE_H
#define ND_DTYPE_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "buf.h"
#include "ctx.h"

enum nd_type_num {
	ND_BOOL = 0, ND_BYTE, ND_UBYTE, ND_SHORT, ND_USHORT, ND_INT, ND_UINT,
	ND_LONG, ND_ULONG, ND_LONGLONG, ND_ULONGLONG, ND_FLOAT, ND_DOUBLE,
	ND_LONGDOUBLE, ND_CFLOAT, ND_CDOUBLE, ND_CLONGDOUBLE, ND_OBJECT,
	ND_STRING, ND_UNICODE, ND_VOID, ND_DATETIME, ND_TIMEDELTA, ND_HALF,
};

#define ND_DT_GENERIC 14 /* NPY_FR_GENERIC */
#define ND_ITEM_HASOBJECT 0x01
#define ND_ALIGNED_STRUCT 0x80

struct nd_dtype;

struct nd_field {
	const char *name;
	/* the title as repr() and as JSON show it; NULL when there is none */
	const char *title_py, *title_json;
	int64_t offset;
	struct nd_dtype *dtype;
};

struct nd_dtype {
	uint64_t addr;
	char kind, type, byteorder;
	int type_num;
	int64_t elsize, alignment;
	uint64_t flags;
	int dt_unit, dt_num;  /* datetime64 / timedelta64 metadata */
	struct nd_dtype *sub_base; /* sub-array dtype: base and shape */
	int sub_ndim;
	int64_t *sub_shape;
	bool structured;      /* has names (possibly none: dtype({'names': []})) */
	int nfields;          /* fields in `names` order */
	struct nd_field *fields;
	bool has_metadata;    /* a non-empty dtype.metadata dict */
	const char *scalar_type; /* tp_name of dtype.type, e.g. numpy.record */
	int64_t weight;       /* nodes when shared sub-dtypes are expanded */
	int64_t scalars;      /* values one item prints (sub-arrays counted) */
	bool has_object;      /* an 'O' anywhere below */
};

/* How the target's NumPy version prints (repr rules changed over time). */
struct nd_print_rules {
	bool order_matters;         /* 2.0+: non-native dtypes are shown */
	bool shape_when_summarised; /* 2.2+: "shape=(...)" past threshold */
	bool dict_spaces;           /* 1.22+: {'names': [...], ...} spacing */
	bool subarray_summary;      /* 2.0+: long sub-array fields get "..." */
	bool exact_int_digits;      /* 1.21+: 23472., not 23470., for float16 */
	bool exp_cutoff_by_type;    /* 2.3+: float16 past 1e3, float32 past 1e6 */
};
struct nd_print_rules nd_print_rules_for(const struct nd_ctx *c);

int nd_dtype_decode(struct nd_ctx *c, struct nd_arena *a, uint64_t addr,
		    struct nd_dtype **out, struct nd_err *e);

/* dtype.str, e.g. "<i4", "|S3", "<U5", "<M8[10ms]", "|O". */
void nd_dtype_str(const struct nd_dtype *d, struct nd_buf *b);
bool nd_dtype_is_datetime(const struct nd_dtype *d);
bool nd_dtype_has_object(const struct nd_dtype *d);
/* Fields that overlap or run backwards: NumPy has no descr for these. */
bool nd_dtype_descr_defined(const struct nd_dtype *d);
/* __array_interface__['descr'] (JSON lists or Python tuples). */
void nd_dtype_iface_descr(const struct nd_dtype *d, struct nd_buf *b,
			  enum nd_style style);
/* dtype.descr as np.save puts it in a header (structured dtypes only). */
void nd_dtype_descr_list(const struct nd_dtype *d, struct nd_buf *b,
			 enum nd_style style);
/* repr(dtype) without the "dtype(...)" wrapper, e.g. 'int32', '>i4',
 * [('a', '<i4')]. */
void nd_dtype_repr(const struct nd_dtype *d, const struct nd_print_rules *r,
		   struct nd_buf *b);
/* str(dtype) of a structured dtype (list or dict form, with 'aligned');
 * as_void leaves out the "(numpy.record, ...)" wrapper. */
void nd_dtype_struct_str(const struct nd_dtype *d, bool as_void,
			 const struct nd_print_rules *r, struct nd_buf *b);
/* What array repr puts after "dtype=", or nothing when NumPy omits it. */
void nd_dtype_array_suffix(const struct nd_dtype *d, bool nonempty,
			   const struct nd_print_rules *rules,
			   struct nd_buf *b);
/* "[10ms]", "[D]", or "" for generic units. */
void nd_dtype_dt_meta(const struct nd_dtype *d, struct nd_buf *b);
/* Unit name, e.g. "ns"; "?" if out of range. */
const char *nd_dt_unit_name(int unit);

#endif
