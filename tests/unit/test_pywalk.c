/* decode/pywalk.c on synthetic interpreters of every supported version:
 * sys.modules, module globals, instance attributes wherever each version
 * keeps them, the subclasses of a type, and hostile graphs; paths through
 * containers (decode/pypath.c) read and written, and the walk of `why`
 * (agent/why_model.c) over them, cycles included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../agent/why_model.h"
#include "../../decode/pypath.h"
#include "../../decode/pywalk.h"
#include "../../decode/refs.h"
#include "image.h"

/* A made-up interpreter: _PyRuntime -> interpreter -> sys.modules =
 * {"__main__": module}, and the module's globals. */
struct world {
	struct image im;
	uint64_t runtime, globals_keys[8], globals_vals[8];
	size_t nglobals;
	uint64_t mod_keys[4], mod_vals[4]; /* sys.modules besides __main__ */
	size_t nmods;
	uint64_t t_module, cls, slotted_cls;
};

static void world_init(struct world *w, int minor)
{
	struct image *im = &w->im;
	const struct nd_pylayout *P;

	memset(w, 0, sizeof(*w));
	image_init(im, minor, minor >= 13 ? 2 : 1);
	P = im->ctx.py;
	w->t_module = img_type(im, "module", 0, 0);
	w->cls = img_class(im, "Model", 1);
	w->slotted_cls = img_class(im, "Slotted", 0);
	w->runtime = img_alloc(im, 1024);
	uint64_t interp = img_alloc(im, 8192);
	/* one interpreter: the newest and the main one */
	img_w64(im, w->runtime + (uint64_t)P->rt_interpreters_head, interp);
	img_w64(im, w->runtime + (uint64_t)P->rt_interpreters_main, interp);
}

static void world_global(struct world *w, const char *name, uint64_t v)
{
	w->globals_keys[w->nglobals] = img_str(&w->im, name);
	w->globals_vals[w->nglobals++] = v;
}

/* sys.modules and __main__ from the globals added so far. */
static void world_finish(struct world *w)
{
	struct image *im = &w->im;
	const struct nd_pylayout *P = im->ctx.py;
	uint64_t interp;
	uint64_t mod = img_object(im, w->t_module, 64);

	img_w64(im, mod + (uint64_t)P->module_dict,
		img_dict(im, w->nglobals, w->globals_keys, w->globals_vals));
	w->mod_keys[w->nmods] = img_str(im, "__main__");
	w->mod_vals[w->nmods++] = mod;
	assert_int_equal(image_read(im, w->runtime +
					    (uint64_t)P->rt_interpreters_head,
				    &interp, 8),
			 0);
	img_w64(im, interp + (uint64_t)P->interp_modules,
		img_dict(im, w->nmods, w->mod_keys, w->mod_vals));
}

static uint64_t some_array(struct world *w)
{
	int64_t dims[] = {1}, strides[] = {4};
	uint64_t descr = img_descr(&w->im, 'i', 'i', '=', 5, 4, 4);

	return img_array(&w->im, img_alloc(&w->im, 4), 1, dims, strides, descr,
			 0, 0);
}

static void resolves_to(struct world *w, const char *path, uint64_t want)
{
	struct nd_err e = {0};
	uint64_t got = 0;
	int rc = nd_py_resolve(&w->im.ctx, w->runtime, path, &got, &e);

	if (rc)
		fail_msg("3.%d: %s: %s", w->im.ctx.py->minor, path, e.msg);
	if (got != want)
		fail_msg("3.%d: %s: 0x%llx, not 0x%llx", w->im.ctx.py->minor,
			 path, (unsigned long long)got, (unsigned long long)want);
}

static void fails_with(struct world *w, const char *path, int code,
		       const char *words)
{
	struct nd_err e = {0};
	uint64_t got = 0;
	int rc = nd_py_resolve(&w->im.ctx, w->runtime, path, &got, &e);

	if (rc != -1 || e.code != code)
		fail_msg("3.%d: %s: expected error %d, got %d (%s)",
			 w->im.ctx.py->minor, path, code, rc, e.msg);
	if (!strstr(e.msg, words))
		fail_msg("3.%d: %s: message '%s' lacks '%s'",
			 w->im.ctx.py->minor, path, e.msg, words);
}

/* Attributes in a dict (all versions) and, 3.11+, beside the object under
 * the class's shared keys, in each version's own way (a pointer before
 * the header, a tagged pointer in the dict slot, values after it). */
static void test_resolve_every_version(void **state)
{
	(void)state;
	for (int minor = PY_MINOR_FIRST; minor <= PY_MINOR_LAST; minor++) {
		struct world w;
		world_init(&w, minor);
		struct image *im = &w.im;
		uint64_t a1 = some_array(&w), a2 = some_array(&w),
			 a3 = some_array(&w);
		const char *inner_names[] = {"bias"};
		uint64_t inner = img_instance(im, img_class(im, "Layer", 1), 1,
					      inner_names, &a3, 0);
		/* "gone" was deleted: a NULL value */
		const char *names[] = {"gone", "w", "layer"};
		uint64_t vals[] = {0, a1, inner};
		uint64_t model = img_instance(im, w.cls, 3, names, vals, 0);
		uint64_t dicted = img_instance(im, w.cls, 3, names, vals, 1);
		uint64_t slotted = img_object(im, w.slotted_cls, 32);
		world_global(&w, "arr", a2);
		world_global(&w, "model", model);
		world_global(&w, "dicted", dicted);
		world_global(&w, "slotted", slotted);
		world_finish(&w);

		resolves_to(&w, "__main__.arr", a2);
		resolves_to(&w, "__main__.model", model);
		resolves_to(&w, "__main__.model.w", a1);
		resolves_to(&w, "__main__.model.layer.bias", a3);
		resolves_to(&w, "__main__.dicted.w", a1);
		resolves_to(&w, "__main__.dicted.layer.bias", a3);
		fails_with(&w, "__main__.model.gone", ND_ENOTARRAY,
			   "__main__.model has no attribute 'gone'");
		fails_with(&w, "__main__.nope", ND_ENOTARRAY,
			   "__main__ has no global 'nope'");
		fails_with(&w, "__main__.slotted.x", ND_ENOTARRAY,
			   "__main__.slotted has no attribute 'x'");
		fails_with(&w, "nosuch.x", ND_ENOTARRAY,
			   "no module of that name");
		fails_with(&w, "__main__..b", ND_EUSAGE, "give MODULE.NAME");
		fails_with(&w, "__main__.model..b", ND_EUSAGE,
			   "cannot read the step");
		image_free(im);
	}
}

struct seen {
	struct world *w;
	char names[8][128];
	uint64_t values[8];
	int n;
};

static int note_global(void *arg, const struct nd_global *g)
{
	struct seen *s = arg;
	char name[128];

	if (s->n < 8 && nd_py_global_name(&s->w->im.ctx, g, name, sizeof(name),
					   NULL) == 0) {
		snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name);
		s->values[s->n++] = g->value;
	}
	return 0;
}

/* Every global of every module, named as nd_py_resolve takes the name;
 * an entry of sys.modules that is no module is walked past, unnamed. */
static void test_module_globals(void **state)
{
	(void)state;
	for (int minor = PY_MINOR_FIRST; minor <= PY_MINOR_LAST; minor++) {
		struct world w;
		struct seen s = {&w};
		struct nd_err e = {0};
		world_init(&w, minor);
		struct image *im = &w.im;
		uint64_t a1 = some_array(&w), a2 = some_array(&w);
		uint64_t key = img_str(im, "weights");
		uint64_t other = img_object(im, w.t_module, 64);
		img_w64(im, other + (uint64_t)im->ctx.py->module_dict,
			img_dict(im, 1, &key, &a2));
		w.mod_keys[w.nmods] = img_str(im, "pkg.mod");
		w.mod_vals[w.nmods++] = other;
		/* a string where a module should be */
		w.mod_keys[w.nmods] = img_str(im, "notmod");
		w.mod_vals[w.nmods++] = img_str(im, "x");
		world_global(&w, "arr", a1);
		world_finish(&w);
		assert_int_equal(nd_py_module_globals(&im->ctx, w.runtime,
						      note_global, &s, &e), 0);
		assert_int_equal(s.n, 2);
		assert_string_equal(s.names[0], "pkg.mod.weights");
		assert_int_equal(s.values[0], a2);
		assert_string_equal(s.names[1], "__main__.arr");
		assert_int_equal(s.values[1], a1);
		for (int i = 0; i < s.n; i++)
			resolves_to(&w, s.names[i], s.values[i]);
		/* no _PyRuntime: said, not walked */
		assert_int_equal(nd_py_module_globals(&im->ctx, 0, note_global, &s,
						      &e), -1);
		assert_int_equal(e.code, ND_ETARGET);
		image_free(im);
	}
}

/* Before 3.12, instances of tuple or int subclasses keep __dict__ after
 * their items (a negative tp_dictoffset), and nothing before the header;
 * sys.modules may hold instances of a module subclass. */
static void test_var_objects_and_module_subclasses(void **state)
{
	(void)state;
	for (int minor = PY_MINOR_FIRST; minor <= PY_MINOR_LAST; minor++) {
		struct world w;
		world_init(&w, minor);
		struct image *im = &w.im;
		const struct nd_pylayout *P = im->ctx.py;
		uint64_t a1 = some_array(&w), a2 = some_array(&w);
		uint64_t key = img_str(im, "arr");
		if (minor <= 11) {
			uint64_t pair = img_class(im, "Pair", 0);
			img_w64(im, pair + (uint64_t)P->tp_basicsize, 24);
			img_w64(im, pair + (uint64_t)P->tp_itemsize, 8);
			img_w64(im, pair + (uint64_t)P->tp_dictoffset,
				(uint64_t)-8);
			/* three items, then the dict: 24 + 3 * 8 - 8 */
			uint64_t p = img_alloc(im, 128) + 32;
			img_w64(im, p, 1);
			img_w64(im, p + 8, pair);
			img_w64(im, p + (uint64_t)P->ob_size, (uint64_t)-3);
			img_w64(im, p + 40, img_dict(im, 1, &key, &a1));
			/* no dict yet, and a pointer to values-like memory
			 * before the header, which is not this object's */
			uint64_t q = img_alloc(im, 128) + 32;
			img_w64(im, q, 1);
			img_w64(im, q + 8, pair);
			img_w64(im, q + (uint64_t)P->ob_size, 1);
			uint64_t fake = img_alloc(im, 64);
			img_w64(im, fake, a1);
			img_w64(im, q - 32, fake);
			world_global(&w, "pair", p);
			world_global(&w, "empty", q);
			/* an absurd item count */
			uint64_t r = img_alloc(im, 128) + 32;
			img_w64(im, r, 1);
			img_w64(im, r + 8, pair);
			img_w64(im, r + (uint64_t)P->ob_size, 1ULL << 50);
			world_global(&w, "huge", r);
		}
		uint64_t lazy_t = img_type(im, "LazyModule", w.t_module, 0);
		uint64_t lazy = img_object(im, lazy_t, 64);
		img_w64(im, lazy + (uint64_t)P->module_dict,
			img_dict(im, 1, &key, &a2));
		w.mod_keys[w.nmods] = img_str(im, "lazy");
		w.mod_vals[w.nmods++] = lazy;
		world_finish(&w);

		resolves_to(&w, "lazy.arr", a2);
		if (minor <= 11) {
			resolves_to(&w, "__main__.pair.arr", a1);
			fails_with(&w, "__main__.empty.arr", ND_ENOTARRAY,
				   "__main__.empty has no attribute 'arr'");
			fails_with(&w, "__main__.huge.arr", ND_ECORRUPT,
				   "bad size");
		}
		image_free(im);
	}
}

/* 3.13+: once a dict took the inline values over, they are not valid
 * any more and the dict is what counts. */
static void test_inline_values_taken_over(void **state)
{
	(void)state;
	for (int minor = 13; minor <= PY_MINOR_LAST; minor++) {
		struct world w;
		world_init(&w, minor);
		struct image *im = &w.im;
		const struct nd_pylayout *P = im->ctx.py;
		uint64_t a1 = some_array(&w), a2 = some_array(&w);
		const char *names[] = {"w"};
		uint64_t obj = img_instance(im, w.cls, 1, names, &a1, 0);
		world_global(&w, "obj", obj);
		world_finish(&w);

		resolves_to(&w, "__main__.obj.w", a1);
		img_w8(im, obj + 16 + (uint64_t)P->dv_valid, 0);
		fails_with(&w, "__main__.obj.w", ND_ENOTARRAY,
			   "has no attribute 'w'");
		uint64_t key = img_str(im, "w");
		img_w64(im, obj + (uint64_t)(int64_t)P->instance_dict,
			img_dict(im, 1, &key, &a2));
		resolves_to(&w, "__main__.obj.w", a2);
		image_free(im);
	}
}

/* Garbage where the attributes should be: an error, never a crash or a
 * read past what the object owns. */
static void test_hostile_attributes(void **state)
{
	(void)state;
	for (int minor = 11; minor <= PY_MINOR_LAST; minor++) {
		struct world w;
		world_init(&w, minor);
		struct image *im = &w.im;
		const struct nd_pylayout *P = im->ctx.py;
		uint64_t a1 = some_array(&w);
		const char *names[] = {"x", "w"};
		uint64_t vals[] = {a1, a1};
		uint64_t obj = img_instance(im, w.cls, 2, names, vals, 0);
		uint64_t bad = img_instance(im, w.cls, 2, names, vals, 0);
		world_global(&w, "obj", obj);
		world_global(&w, "bad", bad);
		world_finish(&w);
		resolves_to(&w, "__main__.obj.w", a1);
		if (P->values_repr == ND_VALUES_INLINE) {
			/* a capacity of 1: entry 1 ("w") is past the values */
			img_w8(im, obj + 16 + (uint64_t)P->dv_capacity, 1);
			fails_with(&w, "__main__.obj.w", ND_ENOTARRAY,
				   "has no attribute 'w'");
		}
		/* the dict slot holds something that is not a dict */
		img_w64(im, bad + (uint64_t)(int64_t)P->instance_dict, a1);
		fails_with(&w, "__main__.bad.w", ND_ECORRUPT, "holds no dict");
		/* an absurd keys table */
		uint64_t keys;
		assert_int_equal(image_read(im, w.cls + (uint64_t)P->ht_cached_keys,
					    &keys, 8),
				 0);
		img_w8(im, keys + (uint64_t)P->dk_size, 40);
		resolves_to(&w, "__main__.obj", obj);
		fails_with(&w, "__main__.obj.x", ND_ECORRUPT, "keys table");
		/* and none at all */
		img_w64(im, w.cls + (uint64_t)P->ht_cached_keys, 0);
		fails_with(&w, "__main__.obj.x", ND_ECORRUPT, "no shared keys");
		/* the values behind an unmapped pointer (3.11, 3.12) */
		if (P->values_repr == ND_VALUES_PTR ||
		    P->values_repr == ND_VALUES_TAGGED) {
			img_w64(im, w.cls + (uint64_t)P->ht_cached_keys, keys);
			img_w8(im, keys + (uint64_t)P->dk_size, 3);
			uint64_t slot = P->values_repr == ND_VALUES_PTR
						? obj + (uint64_t)(int64_t)P->instance_values
						: obj + (uint64_t)(int64_t)P->instance_dict;
			img_w64(im, slot, P->values_repr == ND_VALUES_PTR
						  ? 0x10ULL << 40
						  : (0x10ULL << 40) - 1);
			fails_with(&w, "__main__.obj.x", ND_EREAD, "");
		}
		image_free(im);
	}
}

/* tp_subclasses: a dict of weakrefs, walked breadth first; dead weakrefs
 * skipped, each type once even where the graph loops. */
static void test_subtypes(void **state)
{
	(void)state;
	for (int minor = PY_MINOR_FIRST; minor <= PY_MINOR_LAST;
	     minor += PY_MINOR_LAST - PY_MINOR_FIRST) {
		struct image im;
		image_init(&im, minor, 1);
		const struct nd_pylayout *P = im.ctx.py;
		uint64_t base = im.t_ndarray;
		uint64_t t_weakref = img_type(&im, "weakref", 0, 0);
		uint64_t sub1 = img_type(&im, "matrix", base, 0);
		uint64_t sub2 = img_type(&im, "memmap", base, 0);
		uint64_t subsub = img_type(&im, "MyMatrix", sub1, 0);
		uint64_t ref[4];
		uint64_t targets[4] = {sub1, sub2, im.none, base};
		for (int i = 0; i < 4; i++) {
			ref[i] = img_object(&im, t_weakref, 48);
			img_w64(&im, ref[i] + (uint64_t)P->weakref_object,
				targets[i]);
		}
		uint64_t k1[] = {img_int(&im, 1), img_int(&im, 2),
				 img_int(&im, 3)};
		uint64_t v1[] = {ref[0], ref[1], ref[2]};
		img_w64(&im, base + (uint64_t)P->tp_subclasses,
			img_dict(&im, 3, k1, v1));
		/* MyMatrix under matrix, and a loop back to ndarray */
		uint64_t r = img_object(&im, t_weakref, 48);
		img_w64(&im, r + (uint64_t)P->weakref_object, subsub);
		uint64_t k2[] = {img_int(&im, 4), img_int(&im, 5)};
		uint64_t v2[] = {r, ref[3]};
		img_w64(&im, sub1 + (uint64_t)P->tp_subclasses,
			img_dict(&im, 2, k2, v2));
		/* garbage in memmap's slot: skipped */
		img_w64(&im, sub2 + (uint64_t)P->tp_subclasses, 0x10ULL << 40);

		uint64_t out[8];
		size_t n = 0;
		struct nd_err e = {0};
		assert_int_equal(nd_py_subtypes(&im.ctx, base, out, 8, &n, &e), 0);
		assert_int_equal(n, 4);
		assert_true(out[0] == base && out[1] == sub1 && out[2] == sub2 &&
			    out[3] == subsub);
		/* no room: as many as fit */
		assert_int_equal(nd_py_subtypes(&im.ctx, base, out, 2, &n, &e), 0);
		assert_int_equal(n, 2);
		image_free(&im);
	}
}

static uint64_t a_float(struct image *im, double v)
{
	uint64_t f = img_object(im, im->t_float, 24);

	memcpy(img_ptr(im, f + (uint64_t)im->ctx.py->float_fval), &v, 8);
	return f;
}

static uint64_t a_bytes(struct image *im, const char *v)
{
	const struct nd_pylayout *P = im->ctx.py;
	uint64_t b = img_object(im, im->t_bytes, 64);

	img_w64(im, b + (uint64_t)P->ob_size, strlen(v));
	memcpy(img_ptr(im, b + (uint64_t)P->bytes_sval), v, strlen(v) + 1);
	return b;
}

/* The one path why prints to addr. */
static void why_says(struct world *w, struct why *y, uint64_t addr,
		     const char *want)
{
	struct nd_buf b = {0};

	if (why_paths(y, &w->im.ctx, addr, 1, &b) != 1 ||
	    strcmp(nd_buf_str(&b), want) != 0)
		fail_msg("3.%d: 0x%llx: path %s, not %s", w->im.ctx.py->minor,
			 (unsigned long long)addr, nd_buf_str(&b), want);
	nd_buf_free(&b);
}

static void test_paths_through_containers(void **state)
{
	(void)state;
	for (int minor = PY_MINOR_FIRST; minor <= PY_MINOR_LAST; minor++) {
		struct world w;
		world_init(&w, minor);
		struct image *im = &w.im;
		uint64_t a[8];
		for (int i = 0; i < 8; i++)
			a[i] = some_array(&w);
		uint64_t keys[] = {img_str(im, "k"), img_int(im, 3),
				   img_str(im, "it's"), a_float(im, 2.5),
				   a_bytes(im, "b\x01"), im->none,
				   img_tuple(im, 0, NULL)};
		uint64_t vals[] = {a[0], a[1], a[2], a[3], a[4], a[5], a[6]};
		uint64_t pair[] = {im->none, a[7]};
		uint64_t inner[] = {a[0]};
		uint64_t nkeys[] = {img_str(im, "x")};
		uint64_t nvals[] = {img_tuple(im, 1, inner)};
		world_global(&w, "d", img_dict(im, 7, keys, vals));
		world_global(&w, "t", img_tuple(im, 2, pair));
		world_global(&w, "nested", img_dict(im, 1, nkeys, nvals));
		/* a tuple that holds itself */
		uint64_t self[] = {0, a[7]};
		uint64_t cyc = img_tuple(im, 2, self);
		img_w64(im, cyc + (uint64_t)im->ctx.py->tuple_item, cyc);
		world_global(&w, "cyc", cyc);
		world_finish(&w);

		resolves_to(&w, "__main__.d['k']", a[0]);
		resolves_to(&w, "__main__.d[\"k\"]", a[0]);
		resolves_to(&w, "__main__.d[3]", a[1]);
		resolves_to(&w, "__main__.d[\"it's\"]", a[2]);
		resolves_to(&w, "__main__.d[2.5]", a[3]);
		resolves_to(&w, "__main__.d[b'b\\x01']", a[4]);
		resolves_to(&w, "__main__.d[None]", a[5]);
		resolves_to(&w, "__main__.t[ 1 ]", a[7]);
		resolves_to(&w, "__main__.nested['x'][0]", a[0]);
		resolves_to(&w, "__main__.cyc[0][0][1]", a[7]);
		fails_with(&w, "__main__.d['zz']", ND_ENOTARRAY,
			   "__main__.d has no ['zz']");
		fails_with(&w, "__main__.t[9]", ND_ENOTARRAY,
			   "__main__.t has no [9]");
		fails_with(&w, "__main__.d['k", ND_EUSAGE,
			   "cannot read the step");

		/* why: every one reached, by its shortest path; the cycle
		 * ends; a key Python cannot write is named by its address */
		struct why y;
		struct nd_err e = {0};
		uint64_t lone = some_array(&w);
		uint64_t asked[] = {a[0], a[6], lone};
		assert_int_equal(why_walk(&y, &im->ctx, w.runtime, NULL, 0, asked,
					  3, &e), 0);
		why_says(&w, &y, a[0], "__main__.d['k']\n");
		why_says(&w, &y, a[1], "__main__.d[3]\n");
		why_says(&w, &y, a[2], "__main__.d[\"it's\"]\n");
		why_says(&w, &y, a[3], "__main__.d[2.5]\n");
		why_says(&w, &y, a[4], "__main__.d[b'b\\x01']\n");
		why_says(&w, &y, a[5], "__main__.d[None]\n");
		char want[96];
		snprintf(want, sizeof(want), "__main__.d[{0x%llx}]\n",
			 (unsigned long long)keys[6]);
		why_says(&w, &y, a[6], want);
		why_says(&w, &y, a[7], "__main__.t[1]\n");
		assert_false(why_reached(&y, lone));
		struct nd_buf b = {0};
		assert_int_equal(why_paths(&y, &im->ctx, a[0], 3, &b), 2);
		assert_string_equal(nd_buf_str(&b), "__main__.d['k']\n"
						    "__main__.nested['x'][0]\n");
		nd_buf_free(&b);
		why_free(&y);
		image_free(im);
	}
}

/* Getters of Cython's public attributes (pandas 1.5 on 3.11: mov, incref,
 * ret), the 3.12+ incref, and getters that compute something. */
static void test_field_getters(void **state)
{
	(void)state;
	static const unsigned char blocks[] = {0x48, 0x8b, 0x47, 0x18, 0x48,
					       0x83, 0x00, 0x01, 0xc3, 0x0f};
	static const unsigned char far[] = {0x48, 0x8b, 0x87, 0x00, 0x01, 0x00,
					    0x00, 0x48, 0xff, 0x00, 0xc3};
	static const unsigned char immortal[] = {0x48, 0x8b, 0x47, 0x28, 0x8b,
						 0x10, 0x83, 0xc2, 0x01, 0x74,
						 0x02, 0x89, 0x10, 0xc3};
	static const unsigned char bint[] = {0x8b, 0x47, 0x28, 0x85, 0xc0,
					     0x74, 0x11, 0x48, 0x8b, 0x05};
	static const unsigned char deref[] = {0x48, 0x8b, 0x47, 0x18, 0x48,
					      0x8b, 0x40, 0x08, 0xc3};
	static const unsigned char call[] = {0x48, 0x8b, 0x47, 0x18, 0xe8,
					     0x00, 0x00, 0x00, 0x00, 0xc3};
	static const unsigned char header[] = {0x48, 0x8b, 0x47, 0x08, 0x48,
					       0x83, 0x00, 0x01, 0xc3};
	int64_t off = 0;

	assert_true(nd_field_getter(blocks, sizeof(blocks), &off));
	assert_int_equal(off, 0x18);
	assert_true(nd_field_getter(far, sizeof(far), &off));
	assert_int_equal(off, 0x100);
	assert_true(nd_field_getter(immortal, sizeof(immortal), &off));
	assert_int_equal(off, 0x28);
	assert_false(nd_field_getter(bint, sizeof(bint), &off));
	assert_false(nd_field_getter(deref, sizeof(deref), &off));
	assert_false(nd_field_getter(call, sizeof(call), &off));
	assert_false(nd_field_getter(header, sizeof(header), &off));
	assert_false(nd_field_getter(blocks, 8, &off));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolve_every_version),
		cmocka_unit_test(test_module_globals),
		cmocka_unit_test(test_var_objects_and_module_subclasses),
		cmocka_unit_test(test_inline_values_taken_over),
		cmocka_unit_test(test_hostile_attributes),
		cmocka_unit_test(test_subtypes),
		cmocka_unit_test(test_paths_through_containers),
		cmocka_unit_test(test_field_getters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
