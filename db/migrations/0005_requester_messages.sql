CREATE TABLE "requester_messages" (
	"activation_id" uuid PRIMARY KEY NOT NULL,
	"channel_id" text NOT NULL,
	"ts" text NOT NULL
);
--> statement-breakpoint
ALTER TABLE "requester_messages" ADD CONSTRAINT "requester_messages_activation_id_activations_id_fk" FOREIGN KEY ("activation_id") REFERENCES "public"."activations"("id") ON DELETE no action ON UPDATE no action;