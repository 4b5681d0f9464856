/* The tables themselves are generated data (layout_data.h, from each
 * version's own headers by tests/layout/derive.py; make check compares);
 * this file only looks them up. */
#include "layout.h"

#include <limits.h>
#include <stddef.h>

#include "layout_data.h"

const struct nd_pylayout *nd_pylayout_find(int major, int minor,
					   bool free_threaded)
{
	for (size_t i = 0; i < sizeof(py_layouts) / sizeof(py_layouts[0]); i++)
		if (py_layouts[i].major == major &&
		    py_layouts[i].minor == minor &&
		    py_layouts[i].free_threaded == free_threaded)
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
	return "3.9-3.15, and 3.13t free-threaded";
}

const char *nd_layout_supported_numpy(void)
{
	return "1.x and 2.x";
}
