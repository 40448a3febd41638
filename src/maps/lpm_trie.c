/*
 * maps/lpm_trie.c — LPM_TRIE: longest-prefix match, semantics of
 * kernel/bpf/lpm_trie.c.
 *
 * Keys are struct { u32 prefixlen; u8 data[key_size - 4]; } with data in network
 * (big-endian bit) order; max_prefixlen = 8 * (key_size - 4). A lookup with key K
 * returns the value of the stored entry with the longest prefix that matches K's
 * first K.prefixlen bits.
 *
 * The trie is a binary path-compressed trie: every node has a prefix (prefixlen bits
 * of data) that extends its parent's, and up to two children chosen by the bit right
 * after its prefix. Nodes are entries, or intermediate nodes (flag im) that exist
 * only to branch. Insert walks down while the node's prefix matches and is shorter
 * than the key, then either lands on the key's own node (replace, or turn an
 * intermediate node into an entry), hangs the key below as a leaf, puts it above the
 * node it is a prefix of, or splits with a new intermediate node at the first
 * differing bit. Delete unlinks and merges: a node with two children turns
 * intermediate; one with at most one child is replaced by it; an intermediate parent
 * left with one child is replaced by that child.
 *
 * Locking: a reader-writer lock (lookups share it). Nodes come from a struct vm_pool
 * (grown on demand — the kernel requires BPF_F_NO_PREALLOC — and recycled), so value
 * pointers stay valid memory for the map's life. get_next_key walks in post-order
 * (children before parents, left first), as the kernel.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "maps/map.h"

#define LPM_DATA_SIZE_MAX 256
#define LPM_KEY_SIZE_MIN 5
#define LPM_KEY_SIZE_MAX (4 + LPM_DATA_SIZE_MAX)
#define KMALLOC_MAX_SIZE (4u << 20)
#define KERNEL_NODE_SIZE 24	/* the kernel's struct lpm_trie_node, for its value bound */

struct lpm_node {
	struct vm_elem e;
	struct lpm_node *child[2];
	uint32_t prefixlen;
	bool im;			/* intermediate: no value */
	uint8_t data[];			/* data_size bytes, rounded up to 8; then the value */
};

struct trie {
	pthread_rwlock_t lock;
	struct lpm_node *root;
	uint32_t n_entries;
	uint32_t data_size;
	uint32_t max_prefixlen;
	size_t val_off;
	struct vm_pool pool;
};

static struct trie *tr(const struct bpfvm_map *m)
{
	return m->priv;
}

static uint8_t *val_of(const struct trie *t, struct lpm_node *n)
{
	return (uint8_t *)n + t->val_off;
}

static int bit_at(const uint8_t *data, uint32_t i)
{
	return (data[i / 8] >> (7 - i % 8)) & 1;
}

/* How many leading bits of n's prefix and the key (plen bits of data) agree. */
static uint32_t match_len(const struct trie *t, const struct lpm_node *n, const uint8_t *data,
			  uint32_t plen)
{
	uint32_t limit = n->prefixlen < plen ? n->prefixlen : plen, i = 0;
	for (uint32_t b = 0; b < t->data_size && i < limit; b++) {
		uint8_t diff = n->data[b] ^ data[b];
		if (diff) {
			i = b * 8 + (uint32_t)__builtin_clz(diff) - 24;
			break;
		}
		i = (b + 1) * 8;
	}
	return i < limit ? i : limit;
}

static int lpm_alloc(struct bpfvm_map *m, const struct bpfvm_map_create_opts *opts)
{
	int err = vm_check_map_flags(m, BPFVM_F_NO_PREALLOC | VM_F_NUMA_NODE | VM_F_ACCESS_MASK);
	if (err)
		return err;
	if (m->max_entries == 0 || !(m->map_flags & BPFVM_F_NO_PREALLOC) ||
	    m->key_size < LPM_KEY_SIZE_MIN || m->key_size > LPM_KEY_SIZE_MAX ||
	    m->value_size < 1 ||
	    m->value_size > KMALLOC_MAX_SIZE - LPM_DATA_SIZE_MAX - KERNEL_NODE_SIZE)
		return vm_err(-EINVAL, "map '%s': LPM_TRIE needs BPF_F_NO_PREALLOC, max_entries "
			      "> 0, key_size %d..%d ({u32 prefixlen; data}) and value_size > 0 "
			      "(got flags 0x%x, key %u, value %u, max_entries %u)", m->name,
			      LPM_KEY_SIZE_MIN, LPM_KEY_SIZE_MAX, m->map_flags, m->key_size,
			      m->value_size, m->max_entries);
	struct trie *t = calloc(1, sizeof(*t));
	if (!t)
		return vm_err(-ENOMEM, "map '%s': out of memory", m->name);
	t->data_size = m->key_size - 4;
	t->max_prefixlen = 8 * t->data_size;
	t->val_off = sizeof(struct lpm_node) + vm_round_up(t->data_size, 8);
	uint64_t cap = 2ull * m->max_entries;
	if (vm_pool_init(&t->pool, t->val_off + m->elem_stride,
			 cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap, false, 0, 1)) {
		free(t);
		return vm_err(-ENOMEM, "map '%s': out of memory", m->name);
	}
	pthread_rwlock_init(&t->lock, NULL);
	m->priv = t;
	return 0;
}

static void lpm_free(struct bpfvm_map *m)
{
	struct trie *t = tr(m);
	pthread_rwlock_destroy(&t->lock);
	vm_pool_destroy(&t->pool);
	free(t);
}

/* The entry with the longest prefix matching key; read lock held. */
static struct lpm_node *longest_match(struct trie *t, const uint8_t *key)
{
	uint32_t plen;
	const uint8_t *data = key + 4;
	struct lpm_node *found = NULL;
	memcpy(&plen, key, 4);
	if (plen > t->max_prefixlen)
		return NULL;
	for (struct lpm_node *n = t->root; n;) {
		uint32_t ml = match_len(t, n, data, plen);
		if (ml == t->max_prefixlen) {
			found = n;	/* a full-length node is never intermediate */
			break;
		}
		if (ml < n->prefixlen)
			break;
		if (!n->im)
			found = n;
		n = n->child[bit_at(data, n->prefixlen)];
	}
	return found;
}

static void *lpm_lookup(struct bpfvm_map *m, const void *key, int cpu)
{
	struct trie *t = tr(m);
	pthread_rwlock_rdlock(&t->lock);
	struct lpm_node *n = longest_match(t, key);
	pthread_rwlock_unlock(&t->lock);
	return n ? val_of(t, n) : NULL;
}

static int lpm_lookup_user(struct bpfvm_map *m, const void *key, void *value, uint64_t flags,
			   bool del)
{
	struct trie *t = tr(m);
	pthread_rwlock_rdlock(&t->lock);
	struct lpm_node *n = longest_match(t, key);
	if (n)
		memcpy(value, val_of(t, n), m->value_size);
	pthread_rwlock_unlock(&t->lock);
	return n ? 0 : -ENOENT;
}

static struct lpm_node *node_new(struct bpfvm_map *m, uint32_t plen, const uint8_t *data,
				 const void *value)
{
	struct trie *t = tr(m);
	struct lpm_node *n = (struct lpm_node *)vm_pool_get(&t->pool);
	if (!n)
		return NULL;
	n->child[0] = n->child[1] = NULL;
	n->prefixlen = plen;
	n->im = !value;
	memcpy(n->data, data, t->data_size);
	if (value)
		memcpy(val_of(t, n), value, m->value_size);
	return n;
}

static int lpm_update(struct bpfvm_map *m, const void *key, const void *value, uint64_t flags,
		      int cpu)
{
	struct trie *t = tr(m);
	const uint8_t *data = (const uint8_t *)key + 4;
	uint32_t plen, ml = 0;
	struct lpm_node *n, **slot = &t->root, *fresh, *im;
	int err = 0;

	memcpy(&plen, key, 4);
	if (flags > BPFVM_EXIST || plen > t->max_prefixlen)
		return -EINVAL;
	pthread_rwlock_wrlock(&t->lock);
	while ((n = *slot)) {
		ml = match_len(t, n, data, plen);
		if (n->prefixlen != ml || n->prefixlen == plen || n->prefixlen == t->max_prefixlen)
			break;
		slot = &n->child[bit_at(data, n->prefixlen)];
	}
	if (n && n->prefixlen == plen && ml == plen && !n->im) {
		/* The key's own entry. */
		if (flags == BPFVM_NOEXIST) {
			err = -EEXIST;
		} else {
			/* the kernel replaces the node: the key's data (bits past the
			 * prefix included) is the new key's */
			memcpy(n->data, data, t->data_size);
			memcpy(val_of(t, n), value, m->value_size);
		}
		goto out;
	}
	if (flags == BPFVM_EXIST) {
		err = -ENOENT;
		goto out;
	}
	if (t->n_entries == m->max_entries) {
		err = -ENOSPC;
		goto out;
	}
	if (n && n->prefixlen == plen && ml == plen) {
		/* An intermediate node exactly here becomes the entry. */
		memcpy(n->data, data, t->data_size);
		memcpy(val_of(t, n), value, m->value_size);
		n->im = false;
		t->n_entries++;
		goto out;
	}
	if (!(fresh = node_new(m, plen, data, value))) {
		err = -ENOMEM;
		goto out;
	}
	t->n_entries++;
	if (!n) {
		*slot = fresh;			/* a new leaf */
	} else if (ml == plen) {
		fresh->child[bit_at(n->data, plen)] = n;	/* above n */
		*slot = fresh;
	} else {
		if (!(im = node_new(m, ml, n->data, NULL))) {
			vm_pool_put(&t->pool, &fresh->e);
			t->n_entries--;
			err = -ENOMEM;
			goto out;
		}
		int b = bit_at(data, ml);
		im->child[b] = fresh;
		im->child[!b] = n;
		*slot = im;
	}
out:
	pthread_rwlock_unlock(&t->lock);
	return err;
}

static int lpm_delete(struct bpfvm_map *m, const void *key)
{
	struct trie *t = tr(m);
	const uint8_t *data = (const uint8_t *)key + 4;
	uint32_t plen, ml = 0;
	struct lpm_node *n, *parent = NULL, **slot = &t->root, **parent_slot = NULL;
	int err = 0;

	memcpy(&plen, key, 4);
	if (plen > t->max_prefixlen)
		return -EINVAL;
	pthread_rwlock_wrlock(&t->lock);
	while ((n = *slot)) {
		ml = match_len(t, n, data, plen);
		if (n->prefixlen != ml || n->prefixlen == plen)
			break;
		parent = n;
		parent_slot = slot;
		slot = &n->child[bit_at(data, n->prefixlen)];
	}
	if (!n || n->prefixlen != plen || ml != plen || n->im) {
		err = -ENOENT;
		goto out;
	}
	t->n_entries--;
	if (n->child[0] && n->child[1]) {
		n->im = true;			/* still needed to branch */
	} else if (parent && parent->im && !n->child[0] && !n->child[1]) {
		*parent_slot = parent->child[parent->child[0] == n];
		vm_pool_put(&t->pool, &parent->e);
		vm_pool_put(&t->pool, &n->e);
	} else {
		*slot = n->child[0] ? n->child[0] : n->child[1];
		vm_pool_put(&t->pool, &n->e);
	}
out:
	pthread_rwlock_unlock(&t->lock);
	return err;
}

/* Appends the entries under n in post-order. */
static void postorder(struct lpm_node *n, struct lpm_node **out, uint32_t *cnt)
{
	if (!n)
		return;
	postorder(n->child[0], out, cnt);
	postorder(n->child[1], out, cnt);
	if (!n->im)
		out[(*cnt)++] = n;
}

static int lpm_get_next_key(struct bpfvm_map *m, const void *key, void *next)
{
	struct trie *t = tr(m);
	int err = -ENOENT;
	pthread_rwlock_rdlock(&t->lock);
	struct lpm_node **all = malloc(sizeof(*all) * (t->n_entries + 1));
	uint32_t cnt = 0, i = 0;
	if (!all) {
		pthread_rwlock_unlock(&t->lock);
		return -ENOMEM;
	}
	postorder(t->root, all, &cnt);
	if (key) {
		uint32_t plen;
		memcpy(&plen, key, 4);
		for (uint32_t k = 0; k < cnt; k++) {
			if (all[k]->prefixlen == plen &&
			    match_len(t, all[k], (const uint8_t *)key + 4, plen) == plen) {
				i = k + 1;	/* found: the one after it */
				break;
			}
		}
	}
	if (i < cnt) {
		memcpy(next, &all[i]->prefixlen, 4);
		memcpy((uint8_t *)next + 4, all[i]->data, t->data_size);
		err = 0;
	}
	pthread_rwlock_unlock(&t->lock);
	free(all);
	return err;
}

const struct vm_map_ops vm_lpm_ops = {
	.alloc = lpm_alloc,
	.free = lpm_free,
	.lookup = lpm_lookup,
	.lookup_user = lpm_lookup_user,
	.update = lpm_update,
	.delete = lpm_delete,
	.get_next_key = lpm_get_next_key,
};
