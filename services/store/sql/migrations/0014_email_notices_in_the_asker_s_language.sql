-- An email notice is written in the asker's language (issue 18; docs/operations.md,
-- "Email notices"): the one their page was in when they asked (the language
-- switcher's cookie, else the browser's Accept-Language), kept with the address as
-- a BCP 47 tag of services/i18n's LANGUAGES, never as what the browser sent. The
-- mailer (services/worker/notices.py) writes English for none, and for a tag it
-- does not know; the language is erased with the address.
--
-- During the rolling deploy, the previous release's pods keep working with no
-- function to keep: its api stores no language (the new mailer writes those in
-- English), and its mailer reads none, writes English and erases the address alone
-- (the language goes with the request when the reaper deletes it).
ALTER TABLE requests
    ADD COLUMN notify_language text CHECK (length(notify_language) <= 35
                                           AND notify_language ~ '^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$');
