CREATE TABLE "approval_approvers" (
	"activation_id" uuid NOT NULL,
	"approver_id" text NOT NULL,
	"source" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "approval_messages" (
	"activation_id" uuid NOT NULL,
	"approver_id" text NOT NULL,
	"channel_id" text NOT NULL,
	"ts" text NOT NULL
);
--> statement-breakpoint
ALTER TABLE "activations" ADD COLUMN "ticket_system" text;--> statement-breakpoint
ALTER TABLE "activations" ADD COLUMN "ticket_number" text;--> statement-breakpoint
ALTER TABLE "activations" ADD COLUMN "request_expires_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "activations" ADD COLUMN "next_reminder_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "activations" ADD COLUMN "reminders_sent" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "activations" ADD COLUMN "decided_by" text;--> statement-breakpoint
ALTER TABLE "activations" ADD COLUMN "decided_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "activations" ADD COLUMN "decision_reason" text;--> statement-breakpoint
ALTER TABLE "approval_approvers" ADD CONSTRAINT "approval_approvers_activation_id_activations_id_fk" FOREIGN KEY ("activation_id") REFERENCES "public"."activations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "approval_messages" ADD CONSTRAINT "approval_messages_activation_id_activations_id_fk" FOREIGN KEY ("activation_id") REFERENCES "public"."activations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "approval_approvers_pk" ON "approval_approvers" USING btree ("activation_id","approver_id");--> statement-breakpoint
CREATE INDEX "approval_approvers_approver_idx" ON "approval_approvers" USING btree ("approver_id");--> statement-breakpoint
CREATE UNIQUE INDEX "approval_messages_pk" ON "approval_messages" USING btree ("activation_id","approver_id");--> statement-breakpoint
CREATE INDEX "activations_pending_idx" ON "activations" USING btree ("request_expires_at") WHERE status = 'pending_approval';