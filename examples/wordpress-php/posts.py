#!/usr/bin/env python3
# SQL for the blog's posts (the paper, §IV-B: 1000 articles of 6500 bytes):
#   posts.py N >posts.sql
# N published posts "Paper post K" (K = 1..N, K = N the newest), each of
# about 6,500 bytes of text, inserted into WordPress's wp_posts in batches.
import sys

n = int(sys.argv[1])
words = ("parallel world container overlay merge child root layer upgrade "
         "package apache wordpress mariadb debian test production file "
         "process namespace snapshot copy write read trace").split()


def body(k):
    out, i = [], k
    while sum(len(p) for p in out) < 6400:
        sentence = []
        for _ in range(12):
            i = (i * 1103515245 + 12345) % 2**31
            sentence.append(words[i % len(words)])
        out.append("<p>Paper post %d: %s.</p>\n" % (k, " ".join(sentence).capitalize()))
    return "".join(out)[:6500]


def q(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


print("SET autocommit=0;")
cols = ("post_author, post_date, post_date_gmt, post_content, post_title, "
        "post_excerpt, post_status, comment_status, ping_status, post_name, "
        "to_ping, pinged, post_modified, post_modified_gmt, "
        "post_content_filtered, guid, post_type")
for start in range(1, n + 1, 100):
    rows = []
    for k in range(start, min(start + 100, n + 1)):
        # One post a minute, from 2026-01-01: K = N the newest.
        date = "DATE_ADD('2026-01-01 00:00:00', INTERVAL %d MINUTE)" % k
        rows.append("(1, %s, %s, %s, %s, '', 'publish', 'open', 'open', %s, "
                    "'', '', %s, %s, '', %s, 'post')" % (
                        date, date, q(body(k)), q("Paper post %d" % k),
                        q("paper-post-%d" % k), date, date,
                        q("http://localhost/?p=paper-%d" % k)))
    print("INSERT INTO wp_posts (%s) VALUES\n%s;" % (cols, ",\n".join(rows)))
print("COMMIT;")
