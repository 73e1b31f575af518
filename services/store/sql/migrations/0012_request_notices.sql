-- Telling the asker that a request was answered (issue 17; docs/webhooks.md,
-- "request.answered"; docs/operations.md, "Email notices").
--
-- An answer is told once it can be collected: its content live (every segment
-- stored), or opened already. The reaper's notices pass (services/worker/notices.py) marks it
-- noticed_at and, in the same statement, queues request.answered to the webhook
-- endpoints the asker chose (the answer's receipt has the request's id and the
-- asker's notify list, so the dispatcher reads it as any delivery's).
--
-- Email: the asker may leave an address when the operator configured an SMTP
-- relay. It waits on the request row until the mailer sent the notice, then it is
-- erased, as it is when the mailer gives up; the reaper deletes the row with the
-- request in any case.
ALTER TABLE requests
    ADD COLUMN noticed_at     timestamptz,
    ADD COLUMN notify_email   text CHECK (length(notify_email) <= 254),
    ADD COLUMN email_attempts integer NOT NULL DEFAULT 0,
    ADD COLUMN email_next_at  timestamptz;
CREATE INDEX requests_notice_due_idx ON requests (answered_at)
WHERE state = 'answered' AND (noticed_at IS NULL OR notify_email IS NOT NULL);

-- Up to batch answers that became collectable (or were even opened already): mark
-- them noticed and queue their request.answered webhooks. Returns how many.
CREATE FUNCTION burnafter_notice_answers_v1(batch integer) RETURNS integer
LANGUAGE sql AS $$
    WITH due AS (
        SELECT q.id FROM requests AS q
        WHERE q.state = 'answered' AND q.noticed_at IS NULL
          AND (EXISTS (SELECT FROM secrets AS s JOIN contents AS c ON c.id = s.content_id
                       WHERE s.id = q.id AND c.state = 'live')
               -- opened already, between two rounds: its content may be gone
               OR EXISTS (SELECT FROM access_events AS e
                          WHERE e.secret_id = q.id AND e.event = 'viewed'))
        ORDER BY q.answered_at
        LIMIT batch
        FOR UPDATE SKIP LOCKED
    ), noticed AS (
        UPDATE requests AS q SET noticed_at = now(), email_next_at = now()
        FROM due WHERE q.id = due.id
        RETURNING q.id
    ), queued AS (
        INSERT INTO webhook_deliveries (secret_id, endpoint, event, sender, occurred_at)
        SELECT n.id, endpoint, 'request.answered', r.creator, now()
        FROM noticed AS n
        JOIN receipts AS r ON r.id = n.id
        CROSS JOIN LATERAL unnest(r.notify) AS endpoint
    )
    SELECT count(*)::integer FROM noticed
$$;
