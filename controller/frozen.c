#include "frozen.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#define FROZEN_MAGIC 0x467a4a53u /* "FzJS" */

/* The pool: the strings and the child lists of every frozen tree. Its
 * tables and reference counts are guarded by lock; the strings and nodes
 * themselves never change while referenced, so readers take no lock. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t mix(uint64_t h, uint64_t x)
{
	h ^= x;
	h *= 1099511628211ULL;
	return h ^ (h >> 29);
}

/* ---- interned strings -------------------------------------------------- */

/* refs counts the nodes that point at s. */
struct pstr {
	uint32_t refs;
	uint32_t hash;
	char s[];
};

/* Linear probing, at most half full; freed when empty. */
static struct {
	struct pstr **slots;
	size_t nslots, count;
} strs;

static uint32_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return (uint32_t)(h ^ (h >> 32));
}

/* The slot holding s, or the empty slot where it would go. */
static size_t str_find(const char *s, uint32_t h)
{
	size_t mask = strs.nslots - 1, i = h & mask;

	while (strs.slots[i] && (strs.slots[i]->hash != h || strcmp(strs.slots[i]->s, s)))
		i = (i + 1) & mask;
	return i;
}

static int str_grow(void)
{
	size_t n = strs.nslots ? strs.nslots * 2 : 1024, mask = n - 1;
	struct pstr **t = calloc(n, sizeof(*t));

	if (!t)
		return -1;
	for (size_t i = 0; i < strs.nslots; i++) {
		struct pstr *p = strs.slots[i];
		size_t j;

		if (!p)
			continue;
		for (j = p->hash & mask; t[j]; j = (j + 1) & mask)
			;
		t[j] = p;
	}
	free(strs.slots);
	strs.slots = t;
	strs.nslots = n;
	return 0;
}

/* The interned copy of s with one more reference, or NULL on NOMEM. */
static char *str_intern(const char *s)
{
	uint32_t h = hash_str(s);
	struct pstr *p;
	size_t i, len;

	if ((strs.count + 1) * 2 > strs.nslots && str_grow())
		return NULL;
	i = str_find(s, h);
	p = strs.slots[i];
	if (!p) {
		len = strlen(s);
		p = malloc(sizeof(*p) + len + 1);
		if (!p)
			return NULL;
		p->refs = 0;
		p->hash = h;
		memcpy(p->s, s, len + 1);
		strs.slots[i] = p;
		strs.count++;
	}
	p->refs++;
	return p->s;
}

static void str_release(const char *s)
{
	struct pstr *p = (struct pstr *)(void *)((char *)(uintptr_t)s - offsetof(struct pstr, s));
	size_t mask, i, j, k;

	if (--p->refs)
		return;
	if (!strs.nslots)
		FC_BUG("frozen: string \"%.40s\" released from an empty pool", s);
	mask = strs.nslots - 1;
	i = str_find(s, p->hash);
	if (strs.slots[i] != p)
		FC_BUG("frozen: string \"%.40s\" is not in the pool", s);
	strs.slots[i] = NULL;
	free(p);
	strs.count--;
	/* backward-shift deletion: move back each entry of the run after i
	 * whose home slot k is not cyclically within (i, j] */
	for (j = (i + 1) & mask; strs.slots[j]; j = (j + 1) & mask) {
		k = strs.slots[j]->hash & mask;
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		strs.slots[i] = strs.slots[j];
		strs.slots[j] = NULL;
		i = j;
	}
	if (!strs.count) {
		free(strs.slots);
		strs.slots = NULL;
		strs.nslots = 0;
	}
}

/* ---- hash-consed child lists ------------------------------------------- */

/* n sibling nodes, linked as cJSON links them (the first's prev is the
 * last). refs counts the nodes (roots or in other chains) whose child is
 * nodes[0]. A node's strings are interned and its child is a chain, so
 * two chains are equal when their nodes' fields are, pointers included. */
struct chain {
	struct chain *hnext;
	uint64_t hash;
	uint32_t refs;
	uint32_t n;
	cJSON nodes[];
};

static struct {
	struct chain **b;
	size_t nb, count; /* nb a power of two */
} chains;

static struct chain *chain_of(const cJSON *first)
{
	return (struct chain *)(void *)((char *)(uintptr_t)first - offsetof(struct chain, nodes));
}

static uint64_t node_hash(uint64_t h, const cJSON *d)
{
	uint64_t bits;

	memcpy(&bits, &d->valuedouble, sizeof(bits));
	h = mix(h, (uint64_t)d->type);
	h = mix(h, (uint64_t)(uintptr_t)d->string);
	h = mix(h, (uint64_t)(uintptr_t)d->valuestring);
	h = mix(h, (uint64_t)(uintptr_t)d->child);
	h = mix(h, (uint64_t)(int64_t)d->valueint);
	return mix(h, bits);
}

static int node_equal(const cJSON *a, const cJSON *b)
{
	return a->type == b->type && a->string == b->string && a->valuestring == b->valuestring &&
	       a->child == b->child && a->valueint == b->valueint &&
	       !memcmp(&a->valuedouble, &b->valuedouble, sizeof(a->valuedouble));
}

static struct chain *chain_find(const struct chain *c)
{
	struct chain *e;

	if (!chains.b)
		return NULL;
	for (e = chains.b[c->hash & (chains.nb - 1)]; e; e = e->hnext) {
		uint32_t i;

		if (e->hash != c->hash || e->n != c->n)
			continue;
		for (i = 0; i < c->n && node_equal(&e->nodes[i], &c->nodes[i]); i++)
			;
		if (i == c->n)
			return e;
	}
	return NULL;
}

static int chain_insert(struct chain *c)
{
	size_t j;

	if (chains.count >= chains.nb) {
		size_t nb = chains.nb ? chains.nb * 2 : 1024;
		struct chain **b = calloc(nb, sizeof(*b)), *e, *next;

		if (!b) {
			if (!chains.b)
				return -1;
		} else {
			for (size_t i = 0; i < chains.nb; i++) {
				for (e = chains.b[i]; e; e = next) {
					next = e->hnext;
					j = e->hash & (nb - 1);
					e->hnext = b[j];
					b[j] = e;
				}
			}
			free(chains.b);
			chains.b = b;
			chains.nb = nb;
		}
	}
	j = c->hash & (chains.nb - 1);
	c->hnext = chains.b[j];
	chains.b[j] = c;
	chains.count++;
	return 0;
}

static void chain_unlink(struct chain *c)
{
	struct chain **pp = &chains.b[c->hash & (chains.nb - 1)];

	while (*pp != c) {
		if (!*pp)
			FC_BUG("frozen: a child list is not in the pool");
		pp = &(*pp)->hnext;
	}
	*pp = c->hnext;
	if (!--chains.count) {
		free(chains.b);
		chains.b = NULL;
		chains.nb = 0;
	}
}

static void chain_release(const cJSON *first);

/* Drops what a node holds: its strings and its child list. */
static void node_release(const cJSON *d)
{
	if (d->string)
		str_release(d->string);
	if (d->valuestring)
		str_release(d->valuestring);
	if (d->child)
		chain_release(d->child);
}

static void chain_release(const cJSON *first)
{
	struct chain *c = chain_of(first);

	if (--c->refs)
		return;
	chain_unlink(c);
	for (uint32_t i = 0; i < c->n; i++)
		node_release(&c->nodes[i]);
	free(c);
}

/* Fills d from src: interned strings, the pooled child list. -1 on NOMEM,
 * with what d took so far still in d (node_release). */
static int node_fill(cJSON *d, const cJSON *src);

/* The pooled list equal to src and its next siblings, with one more
 * reference: its first node, or NULL on NOMEM. */
static cJSON *chain_get(const cJSON *src)
{
	struct chain *c, *found;
	const cJSON *it;
	uint32_t n = 0, i;

	for (it = src; it; it = it->next)
		n++;
	c = malloc(sizeof(*c) + (size_t)n * sizeof(cJSON));
	if (!c)
		return NULL;
	c->n = n;
	c->refs = 1;
	c->hash = 1469598103934665603ULL;
	for (i = 0, it = src; it; it = it->next, i++) {
		if (node_fill(&c->nodes[i], it)) {
			node_release(&c->nodes[i]);
			while (i--)
				node_release(&c->nodes[i]);
			free(c);
			return NULL;
		}
		c->hash = node_hash(c->hash, &c->nodes[i]);
	}
	found = chain_find(c);
	if (found || chain_insert(c)) {
		for (i = 0; i < n; i++)
			node_release(&c->nodes[i]);
		free(c);
		if (!found)
			return NULL;
		found->refs++;
		return found->nodes;
	}
	for (i = 0; i < n; i++) {
		c->nodes[i].next = i + 1 < n ? &c->nodes[i + 1] : NULL;
		c->nodes[i].prev = i ? &c->nodes[i - 1] : &c->nodes[n - 1];
	}
	return c->nodes;
}

static int node_fill(cJSON *d, const cJSON *src)
{
	memset(d, 0, sizeof(*d));
	d->type = src->type & ~(cJSON_IsReference | cJSON_StringIsConst);
	d->valueint = src->valueint;
	d->valuedouble = src->valuedouble;
	if (src->string && !(d->string = str_intern(src->string)))
		return -1;
	if (src->valuestring && !(d->valuestring = str_intern(src->valuestring)))
		return -1;
	if (src->child && !(d->child = chain_get(src->child)))
		return -1;
	return 0;
}

/* ---- frozen trees: a root node of their own ----------------------------- */

struct frozen {
	uint32_t magic;
	uint32_t refs; /* __atomic */
	cJSON root;
};

const cJSON *frozen_new(const cJSON *tree)
{
	struct frozen *f;
	int bad;

	if (!tree)
		return NULL;
	f = malloc(sizeof(*f));
	if (!f)
		return NULL;
	f->magic = FROZEN_MAGIC;
	f->refs = 1;
	pthread_mutex_lock(&lock);
	bad = node_fill(&f->root, tree);
	if (bad)
		node_release(&f->root);
	pthread_mutex_unlock(&lock);
	if (bad) {
		free(f);
		return NULL;
	}
	return &f->root;
}

static struct frozen *frozen_of(const cJSON *root)
{
	struct frozen *f = (struct frozen *)(void *)((char *)(uintptr_t)root - offsetof(struct frozen, root));

	if (f->magic != FROZEN_MAGIC)
		FC_BUG("frozen: %p is not a frozen tree", (const void *)root);
	return f;
}

const cJSON *frozen_ref(const cJSON *root)
{
	if (root)
		__atomic_add_fetch(&frozen_of(root)->refs, 1, __ATOMIC_RELAXED);
	return root;
}

void frozen_unref(const cJSON *root)
{
	struct frozen *f;

	if (!root)
		return;
	f = frozen_of(root);
	if (__atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL))
		return;
	pthread_mutex_lock(&lock);
	node_release(&f->root);
	pthread_mutex_unlock(&lock);
	f->magic = 0;
	free(f);
}
