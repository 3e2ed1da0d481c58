CREATE TABLE "home_tab_viewers" (
	"user_id" text PRIMARY KEY NOT NULL,
	"first_opened_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
DROP INDEX "outbox_pending_idx";--> statement-breakpoint
DROP INDEX "outbox_pending_home_refresh_idx";--> statement-breakpoint
CREATE INDEX "outbox_pending_messages_idx" ON "outbox" USING btree ("id") WHERE kind <> 'home_refresh' and delivered_at is null and failed_at is null;--> statement-breakpoint
CREATE INDEX "outbox_pending_home_refresh_idx" ON "outbox" USING btree ("id") WHERE kind = 'home_refresh' and delivered_at is null and failed_at is null;