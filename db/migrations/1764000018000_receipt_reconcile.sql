-- Up Migration
-- The dispatch journal is the source of truth for receipts: the receipt router records each
-- receipt in full here before it signals the message's workflow, and marks it signalled after.
-- The reconciler (clients/receipt-reconciler.ts) signals every receipt not marked, so a worker or
-- API crash between the two steps loses nothing.
ALTER TABLE dispatch_journal
  ADD COLUMN receipt_error_code text,
  ADD COLUMN receipt_done_at timestamptz,
  ADD COLUMN receipt_signalled_at timestamptz;
-- Receipts routed before this migration were signalled (or their signal is lost for good with the
-- workflows that timed out); do not signal them all again.
UPDATE dispatch_journal SET receipt_signalled_at = receipt_at WHERE receipt_status IS NOT NULL;
CREATE INDEX dispatch_journal_unsignalled ON dispatch_journal (receipt_at)
  WHERE receipt_status IS NOT NULL AND receipt_signalled_at IS NULL;

-- Down Migration
DROP INDEX dispatch_journal_unsignalled;
ALTER TABLE dispatch_journal
  DROP COLUMN receipt_signalled_at,
  DROP COLUMN receipt_done_at,
  DROP COLUMN receipt_error_code;
