-- An upload may have a few segments in flight (issue 15; docs/protocol.md, "API use
-- (v2)"). One segment at a time, every segment waited for the whole chain in turn
-- (the client's send, the api, the database's commit, the answer), and a 1 GiB
-- upload ran at a third of a bare database client's rate.
--
-- burnafter_put_segment_v2 stores any index below received + upload_window that is
-- not stored yet; received stays the count of the contiguous prefix (the first
-- missing index), so resuming from received is as before, and an index stored
-- past it and sent again is answered stored (the same bytes) or conflict.
-- v1 becomes a wrapper with a window of 1, which is what it did: a pod of the
-- release before keeps its behaviour through a rolling deploy.

CREATE FUNCTION burnafter_put_segment_v2(
    content_id text,
    upload_verifier bytea,
    segment_index integer,
    segment_data bytea,
    upload_window integer,
    OUT outcome text,
    OUT received integer
)
LANGUAGE plpgsql AS $$
DECLARE
    stand_in CONSTANT bytea := decode(repeat('00', 32), 'hex');
    stored   bytea;
    size     integer;
    count    integer;
    sealed   bigint;
    same     boolean;
    reach    integer;
BEGIN
    SELECT c.upload_verifier INTO stored
    FROM contents AS c
    WHERE c.id = burnafter_put_segment_v2.content_id AND c.state = 'uploading'
      AND c.upload_expires_at > now();
    IF burnafter_same_bytes_v2(burnafter_put_segment_v2.upload_verifier,
                               coalesce(stored, stand_in)) IS NOT TRUE THEN
        outcome := 'not_found';
        RETURN;
    END IF;
    SELECT c.upload_verifier, c.segment_size, c.segment_count, c.sealed_bytes, c.received
    INTO stored, size, count, sealed, received
    FROM contents AS c
    WHERE c.id = burnafter_put_segment_v2.content_id AND c.state = 'uploading'
      AND c.upload_expires_at > now()
    FOR UPDATE;
    IF NOT FOUND
       OR burnafter_same_bytes_v2(burnafter_put_segment_v2.upload_verifier, stored)
          IS NOT TRUE THEN
        outcome := 'not_found';
        received := NULL;
        RETURN;
    END IF;

    -- Nothing is stored at or past reach: every put checked its index against the
    -- received of its time, and received only grows.
    reach := least(received + greatest(upload_window, 1), count);
    IF segment_index < 0 OR segment_index >= count THEN
        outcome := 'bad_index';
        RETURN;
    ELSIF segment_index >= reach THEN
        outcome := 'out_of_order';
        RETURN;
    ELSIF length(segment_data) <> (CASE WHEN segment_index = count - 1
                                        THEN sealed - (count - 1)::bigint * (size + 16)
                                        ELSE size + 16 END) THEN
        outcome := 'wrong_size';
        RETURN;
    END IF;
    SELECT g.data = segment_data INTO same
    FROM segments AS g
    WHERE g.content_id = burnafter_put_segment_v2.content_id AND g.index = segment_index;
    IF FOUND THEN
        outcome := CASE WHEN same THEN 'stored' ELSE 'conflict' END;
        RETURN;
    END IF;
    INSERT INTO segments (content_id, index, data)
    VALUES (burnafter_put_segment_v2.content_id, segment_index, segment_data);
    IF segment_index = received THEN
        received := coalesce(
            (SELECT i FROM generate_series(received + 1, reach - 1) AS i
             WHERE NOT EXISTS (SELECT 1 FROM segments AS g
                               WHERE g.content_id = burnafter_put_segment_v2.content_id
                                 AND g.index = i)
             ORDER BY i LIMIT 1),
            reach);
        UPDATE contents AS c SET received = burnafter_put_segment_v2.received
        WHERE c.id = burnafter_put_segment_v2.content_id;
    END IF;
    outcome := 'stored';
END
$$;

CREATE OR REPLACE FUNCTION burnafter_put_segment_v1(
    content_id text,
    upload_verifier bytea,
    segment_index integer,
    segment_data bytea,
    OUT outcome text,
    OUT received integer
)
LANGUAGE sql AS $$
    SELECT * FROM burnafter_put_segment_v2($1, $2, $3, $4, 1)
$$;
