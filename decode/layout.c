/* Offsets measured with offsetof() against each version's own headers
 * (Debian bullseye 3.9 + NumPy 1.19, bookworm 3.11 + 1.24, trixie 3.13 + 2.2,
 * sid 3.14 + 2.4). 3.9/3.10 dict keys come from Objects/dict-common.h, which
 * is not installed; they match CPython's source for those releases. */
#include "layout.h"

#include <stddef.h>

#define PY_COMMON                                                              \
	.tp_name = 24, .tp_basicsize = 32, .tp_flags = 168, .tp_base = 256,    \
	.tp_mro = 344, .float_fval = 16, .str_state = 32, .bytes_sval = 32,    \
	.bytearray_bytes = 32, .bytearray_start = 40, .mview_buf = 56,         \
	.mview_obj = 64, .mview_len = 72, .mmap_data = 16, .mmap_size = 24,    \
	.cdata_ptr = 16, .cdata_size = 40, .dict_used = 16, .dict_keys = 32,   \
	.dict_values = 40, .long_digits = 24

#define PY_UPTO_311                                                            \
	PY_COMMON, .refcnt_bits = 64, .tuple_item = 24,                        \
	.long_repr = ND_LONG_OB_SIZE, .str_ascii_data = 48,                    \
	.str_compact_data = 72

#define PY_FROM_312                                                            \
	PY_COMMON, .long_repr = ND_LONG_LV_TAG, .str_ascii_data = 40,          \
	.str_compact_data = 56, .dict_repr = ND_DICT_311

static const struct nd_pylayout py_layouts[] = {
	{.major = 3, .minor = 9, PY_UPTO_311, .dict_repr = ND_DICT_39},
	{.major = 3, .minor = 10, PY_UPTO_311, .dict_repr = ND_DICT_39},
	{.major = 3, .minor = 11, PY_UPTO_311, .dict_repr = ND_DICT_311},
	{.major = 3, .minor = 12, PY_FROM_312, .refcnt_bits = 64, .tuple_item = 24},
	{.major = 3, .minor = 13, PY_FROM_312, .refcnt_bits = 64, .tuple_item = 24,
	 .dict_split_values = 8},
	/* 3.14: ob_flags in the refcount's upper half, tuples cache their hash */
	{.major = 3, .minor = 14, PY_FROM_312, .refcnt_bits = 32, .tuple_item = 32,
	 .dict_split_values = 8},
};

#define NP_COMMON                                                              \
	.arr_data = 16, .arr_nd = 24, .arr_dims = 32, .arr_strides = 40,       \
	.arr_base = 48, .arr_descr = 56, .arr_flags = 64, .d_typeobj = 16,     \
	.d_kind = 24, .d_type = 25, .d_byteorder = 26, .d_type_num = 28,       \
	.dt_meta_base = 32, .dt_meta_num = 36

static const struct nd_nplayout np_layouts[] = {
	{
		.major = 1, NP_COMMON, .maxdims = 32,
		.d_flags = 27, .d_flags_size = 1,
		.d_elsize = 32, .d_elsize_size = 4,
		.d_alignment = 36, .d_alignment_size = 4,
		.d_subarray = 40, .d_fields = 48, .d_names = 56,
		.d_metadata = 72, .d_c_metadata = 80, .d_basicsize = 96,
		.legacy_type_num_end = 0x7fffffff,
	},
	{
		.major = 2, NP_COMMON, .maxdims = 64,
		.d_flags = 32, .d_flags_size = 8,
		.d_elsize = 40, .d_elsize_size = 8,
		.d_alignment = 48, .d_alignment_size = 8,
		.d_metadata = 56, .d_subarray = 88, .d_fields = 96,
		.d_names = 104, .d_c_metadata = 112, .d_basicsize = 88,
		/* NPY_VSTRING: new-style dtypes have no legacy tail */
		.legacy_type_num_end = 2056,
	},
};

const struct nd_pylayout *nd_pylayout_find(int major, int minor)
{
	for (size_t i = 0; i < sizeof(py_layouts) / sizeof(py_layouts[0]); i++)
		if (py_layouts[i].major == major && py_layouts[i].minor == minor)
			return &py_layouts[i];
	return NULL;
}

const struct nd_nplayout *nd_nplayout_find(int numpy_major)
{
	for (size_t i = 0; i < sizeof(np_layouts) / sizeof(np_layouts[0]); i++)
		if (np_layouts[i].major == numpy_major)
			return &np_layouts[i];
	return NULL;
}

const char *nd_layout_supported_python(void)
{
	return "3.9-3.14";
}

const char *nd_layout_supported_numpy(void)
{
	return "1.x and 2.x";
}
