#include "frame_locals.h"

#include <inttypes.h>
#include <string.h>

#include "../decode/dtype.h"
#include "../decode/ndarray.h"
#include "../decode/pyobj.h"
#include "../decode/values.h"
#include "list_model.h"

#define MAX_SHOWN 256 /* locals of one frame (a module's are its globals) */

struct shown {
	struct nd_ctx *c;
	struct nd_buf *b;
	bool json;
	size_t n;
};

static void array_value(struct nd_ctx *c, uint64_t obj, bool json,
			struct nd_buf *b)
{
	struct nd_array a;
	struct list_entry f = {.addr = obj};
	struct nd_buf owner = {0}, dt = {0};

	if (nd_array_decode(c, obj, &a, NULL)) {
		nd_buf_printf(b, json ? "{\"address\": %" PRIu64
				      ", \"type\": null}"
				      : "<unreadable array at 0x%" PRIx64 ">",
			      obj);
		nd_array_free(&a);
		return;
	}
	list_owner(&a, &f, &owner);
	nd_dtype_str(a.dtype, &dt);
	if (json) {
		nd_buf_printf(b, "{\"address\": %" PRIu64 ", \"type\": ", obj);
		nd_buf_json_str(b, a.type_name, strlen(a.type_name));
		nd_buf_puts(b, ", \"dtype\": ");
		nd_buf_json_str(b, nd_buf_str(&dt), dt.len);
		nd_buf_puts(b, ", \"shape\": ");
		nd_buf_ints(b, a.shape, a.ndim, ND_STYLE_JSON);
		nd_buf_printf(b, ", \"nbytes\": %" PRId64 ", \"owner\": ",
			      a.nbytes);
		nd_buf_json_str(b, nd_buf_str(&owner), owner.len);
		nd_buf_putc(b, '}');
	} else {
		char size[32];
		nd_human_size((uint64_t)a.nbytes, size, sizeof(size));
		nd_buf_printf(b, "0x%" PRIx64 " ", obj);
		nd_buf_puts_safe(b, a.type_name);
		nd_buf_printf(b, " %s ", nd_buf_str(&dt));
		nd_buf_ints(b, a.shape, a.ndim, ND_STYLE_PY);
		nd_buf_printf(b, " %s, %s", size, nd_buf_str(&owner));
	}
	nd_buf_free(&owner);
	nd_buf_free(&dt);
	nd_array_free(&a);
}

static int one_local(void *arg, uint64_t obj, struct nd_step step)
{
	struct shown *s = arg;
	struct nd_ctx *c = s->c;
	char name[ND_MAX_NAME];
	uint64_t type;
	bool array = false;

	if (step.kind != ND_STEP_ATTR_STR ||
	    nd_py_str(c, step.payload, name, sizeof(name), NULL, NULL))
		return 0;
	if (s->n++ >= MAX_SHOWN)
		return 0; /* counted, not shown */
	if (s->json) {
		nd_buf_puts(s->b, s->n > 1 ? ", " : "");
		nd_buf_json_str(s->b, name, strlen(name));
		nd_buf_puts(s->b, ": ");
	} else {
		nd_buf_puts(s->b, "          ");
		nd_buf_puts_safe(s->b, name);
		nd_buf_puts(s->b, " = ");
	}
	if (nd_py_header(c, obj, NULL, &type, NULL) == 0)
		nd_py_is_subtype(c, type, c->array_type, &array, NULL);
	if (array) {
		array_value(c, obj, s->json, s->b);
	} else {
		struct nd_pyvalue v;
		nd_py_value(c, obj, &v);
		/* a long str by its type, as any other object */
		if (v.v.kind == ND_PY_STR && v.v.slen > 80)
			v.v.kind = ND_PY_OTHER;
		if (s->json && v.v.kind != ND_PY_OTHER &&
		    v.v.kind != ND_PY_UNREADABLE) {
			nd_buf_puts(s->b, "{\"address\": ");
			nd_buf_printf(s->b, "%" PRIu64 ", \"type\": ", obj);
			nd_buf_json_str(s->b, v.type, strlen(v.type));
			nd_buf_puts(s->b, ", \"value\": ");
			nd_pyscalar_write(&v.v, obj, ND_STYLE_JSON, s->b);
			nd_buf_putc(s->b, '}');
		} else {
			nd_pyscalar_write(&v.v, obj,
					  s->json ? ND_STYLE_JSON : ND_STYLE_PY,
					  s->b);
		}
	}
	if (!s->json)
		nd_buf_putc(s->b, '\n');
	return 0;
}

void frame_locals_format(struct nd_refs *w, struct nd_ctx *c,
			 const struct nd_pyframe *f, bool json,
			 struct nd_buf *b)
{
	struct shown s = {c, b, json, 0};

	if (json)
		nd_buf_puts(b, "{");
	nd_frame_locals(w, f->frame, f->code, one_local, &s);
	if (json)
		nd_buf_puts(b, "}");
	else if (s.n > MAX_SHOWN)
		nd_buf_printf(b, "          (%zu more not shown)\n",
			      s.n - MAX_SHOWN);
}
