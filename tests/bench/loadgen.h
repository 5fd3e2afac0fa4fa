/* SPDX-License-Identifier: MIT — crmpubsub */
/* Shared state of the benchmark load generator: connections, the workload and its counters. */
#ifndef LOADGEN_H
#define LOADGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LG_UUID_LEN	36
#define LG_TOPIC_PREFIX	"crm:contact:"
#define LG_TOPIC_SUFFIX	":interactions"
#define LG_TOPIC_LEN	(12 + LG_UUID_LEN + 13)
#define LG_MAX_CONTACTS	64

enum lg_target { LG_CRM, LG_REDIS };
enum lg_role { LG_SUB, LG_WRITER };

/* One broadcast a writer sent and has not yet seen fully answered. */
struct lg_pending {
	uint32_t	expected;	/* pushes the generator expects */
	uint32_t	replies_left;	/* Redis: PUBLISH replies still due */
	uint32_t	got;		/* deliveries the server reported */
};

struct lg_conn {
	int		 fd;
	uint8_t		 role;
	bool		 ready;		/* subscriber: subscribe acknowledged */
	bool		 dead;
	bool		 pollout;
	uint32_t	 idx;
	uint32_t	 acks;		/* Redis: subscribe confirmations */
	char		*carry;		/* unparsed tail of the last read */
	size_t		 carry_len, carry_cap;
	char		*out;		/* queued output */
	size_t		 out_off, out_len, out_cap;
	/* writer */
	uint64_t	 seq;		/* last sequence number sent */
	struct lg_pending *ring;	/* window-sized FIFO of broadcasts */
	uint32_t	 head, inflight;
	/* subscriber */
	uint64_t	*last_seq;	/* per writer: highest seq received */
};

struct lg_config {
	enum lg_target	target;
	const char	*socket;
	uint32_t	 subscribers, writers, contacts, window;
	double		 rate;		/* broadcasts/s; 0 = closed loop */
	double		 warmup_s, duration_s;
	double		 extra_frac;	/* fraction of subscribers following more */
	uint32_t	 extra_k;	/* how many more contacts they follow */
	int		 op_mode;	/* 0 mix, 1 to_contacts, 2 interaction */
	int		 server_pid;
	bool		 idle;		/* memory mode: subscribe, measure, exit */
	const char	*label;
	const char	*as;		/* target name reported, if not the wire's */
	/* Side by side (turns.c): FIFOs the turn arrives on and leaves by, the
	 * length of a turn, and whether this generator hands out the first. */
	const char	*turn_in, *turn_out;
	double		 turn_ms;
	bool		 turn_starter;
	bool		 spin;		/* open loop: busy-poll, send when due */
};

struct lg_counters {
	uint64_t	sent;		/* broadcasts sent */
	uint64_t	answered;	/* broadcasts fully answered */
	uint64_t	expected;	/* pushes expected from all sent broadcasts */
	uint64_t	reported;	/* deliveries the server reported */
	uint64_t	received;	/* pushes received */
	uint64_t	dropped;	/* pushes a resync announced as dropped */
	uint64_t	resyncs;
	uint64_t	misrouted;	/* push for a topic the subscriber lacks */
	uint64_t	foreign;	/* push naming a contact the broadcast lacked */
	uint64_t	disorder;	/* per-writer order violated */
	uint64_t	errors;		/* error replies */
	uint64_t	garbage;	/* lines/frames the generator cannot read */
	uint64_t	late;		/* open loop: sends held back by the window */
	uint64_t	m_answered;	/* inside the measured interval */
	uint64_t	m_received;
};

extern struct lg_config	lg_cfg;
extern struct lg_counters lg_ctr;
extern char		*lg_contact_uuid;	/* subscribers × (36 chars, NUL) */
extern uint32_t		*lg_topic_subs;		/* subscribers per contact */
extern bool		 lg_measuring;

/* Contact c's UUID: 36 characters and a NUL. */
static inline const char *
lg_contact(uint32_t c)
{
	return lg_contact_uuid + (size_t)c * (LG_UUID_LEN + 1);
}

/* Contacts named by writer w's broadcast seq, derived from (w, seq) alone
 * so a subscriber can check a push against the broadcast that caused it. */
uint32_t lg_pick_contacts(uint32_t w, uint64_t seq, uint32_t out[LG_MAX_CONTACTS]);
/* Whether subscriber s follows contact c. */
bool	 lg_follows(uint32_t s, uint32_t c);
/* Contacts subscriber s follows; returns the count. */
uint32_t lg_followed(uint32_t s, uint32_t out[LG_MAX_CONTACTS]);

/* Output buffering. */
char	*lg_reserve(struct lg_conn *, size_t n);
void	 lg_flush(struct lg_conn *);

/* Protocol side: one set per server (wire_crm.c, wire_redis.c). */
void	 crm_subscribe(struct lg_conn *);
void	 crm_broadcast(struct lg_conn *, uint64_t seq, uint64_t stamp_ns,
	    const uint32_t *contacts, uint32_t n);
/* Parses complete messages in buf; returns the bytes consumed. */
size_t	 crm_parse(struct lg_conn *, const char *buf, size_t len, uint64_t now_ns);
void	 redis_subscribe(struct lg_conn *);
void	 redis_broadcast(struct lg_conn *, uint64_t seq, uint64_t stamp_ns,
	    const uint32_t *contacts, uint32_t n);
size_t	 redis_parse(struct lg_conn *, const char *buf, size_t len, uint64_t now_ns);
/* The interaction UUID carrying writer, sequence and send stamp. */
void	 lg_interaction_uuid(char out[LG_UUID_LEN], uint32_t w, uint64_t seq,
	    uint64_t stamp_ns);

/* Events the wire layer reports back. */
void	 lg_on_push(struct lg_conn *sub, uint32_t contact, const char *iuuid,
	    uint64_t now_ns);
void	 lg_on_resync(struct lg_conn *sub, uint64_t dropped);
void	 lg_on_subscribed(struct lg_conn *sub);
void	 lg_on_reply(struct lg_conn *w, bool ok, uint64_t delivered);
void	 lg_on_error_text(const char *what, const char *p, size_t n);

/* Latency histogram and /proc readings (measure.c). */
void	 hist_add(uint64_t ns);
uint64_t hist_percentile(double p);
uint64_t hist_count(void);
uint64_t proc_cpu_ticks(int pid);	/* utime + stime, clock ticks */
uint64_t proc_rss_bytes(int pid);
double	 self_cpu_s(void);

/* Turn taking between generators run side by side (turns.c). */
void	 turns_open(const char *in_path, const char *out_path);
void	 turns_wait(void);
void	 turns_pass(bool done);

/* Hex helpers. */
void	 hex_put(char *dst, uint64_t v, int digits);
int	 hex_get(const char *src, int digits, uint64_t *v);

#endif
