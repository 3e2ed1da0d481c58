CREATE TABLE "directory_users" (
	"user_id" text PRIMARY KEY NOT NULL,
	"manager_id" text,
	"manager_set_by" text,
	"deactivated" boolean DEFAULT false NOT NULL,
	"deactivated_seen_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "assignments" ADD COLUMN "end_notices_sent" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "roles" ADD COLUMN "deleted_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "directory_users_deactivated_idx" ON "directory_users" USING btree ("user_id") WHERE deactivated;--> statement-breakpoint
CREATE INDEX "assignments_current_ends_at_idx" ON "assignments" USING btree ("ends_at") WHERE status = 'current' and ends_at is not null;--> statement-breakpoint
CREATE INDEX "outbox_pending_home_refresh_idx" ON "outbox" USING btree (("payload"->>'userId')) WHERE kind = 'home_refresh' and delivered_at is null and failed_at is null;