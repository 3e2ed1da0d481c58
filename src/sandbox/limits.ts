/**
 * Slack's documented limits that the stand-in enforces. Each group names the page it comes from,
 * so a changed limit can be checked against its source.
 */

// https://docs.slack.dev/reference/block-kit/blocks
export const MESSAGE_MAX_BLOCKS = 50;
export const VIEW_MAX_BLOCKS = 100;

// https://docs.slack.dev/reference/methods/chat.postMessage
// NOTE: Slack documents that it truncates `text` beyond 40,000 characters and lists `msg_too_long`
// without a number. The stand-in rejects longer text so the app's author notices before users see
// a cut message.
export const MESSAGE_TEXT_MAX_CHARS = 40_000;

// https://docs.slack.dev/reference/block-kit/blocks/section-block
export const SECTION_TEXT_MAX_CHARS = 3_000;
export const SECTION_MAX_FIELDS = 10;
export const SECTION_FIELD_MAX_CHARS = 2_000;

// https://docs.slack.dev/reference/block-kit/blocks/header-block
export const HEADER_TEXT_MAX_CHARS = 150;
export const BLOCK_ID_MAX_CHARS = 255;

// https://docs.slack.dev/reference/block-kit/blocks/actions-block
export const ACTIONS_MAX_ELEMENTS = 25;

// https://docs.slack.dev/reference/block-kit/blocks/context-block
export const CONTEXT_MAX_ELEMENTS = 10;

// https://docs.slack.dev/reference/block-kit/blocks/input-block
export const INPUT_LABEL_MAX_CHARS = 2_000;
export const INPUT_HINT_MAX_CHARS = 2_000;

// https://docs.slack.dev/reference/block-kit/block-elements/button-element
export const BUTTON_TEXT_MAX_CHARS = 75;
export const BUTTON_VALUE_MAX_CHARS = 2_000;
export const BUTTON_URL_MAX_CHARS = 3_000;
export const ACTION_ID_MAX_CHARS = 255;

// https://docs.slack.dev/reference/block-kit/composition-objects/confirmation-dialog-object
export const CONFIRM_TITLE_MAX_CHARS = 100;
export const CONFIRM_TEXT_MAX_CHARS = 300;
export const CONFIRM_BUTTON_MAX_CHARS = 30;

// https://docs.slack.dev/reference/block-kit/block-elements/select-menu-element#static_select
// and https://docs.slack.dev/reference/block-kit/composition-objects/option-group-object
export const SELECT_MAX_OPTIONS = 100;
export const SELECT_MAX_OPTION_GROUPS = 100;
export const SELECT_PLACEHOLDER_MAX_CHARS = 150;

// https://docs.slack.dev/reference/block-kit/block-elements/overflow-menu-element
export const OVERFLOW_MAX_OPTIONS = 5;

// https://docs.slack.dev/reference/block-kit/block-elements/checkboxes-element and
// https://docs.slack.dev/reference/block-kit/block-elements/radio-button-group-element
export const CHECKBOXES_MAX_OPTIONS = 10;
export const RADIO_BUTTONS_MAX_OPTIONS = 10;

// https://docs.slack.dev/reference/block-kit/block-elements/plain-text-input-element
export const PLAIN_TEXT_INPUT_MAX_LENGTH = 3_000;

// https://docs.slack.dev/reference/block-kit/composition-objects/option-object
export const OPTION_TEXT_MAX_CHARS = 75;
export const OPTION_VALUE_MAX_CHARS = 150;

// https://docs.slack.dev/reference/views/modal-views (Home tab views share the last three fields)
export const MODAL_TITLE_MAX_CHARS = 24;
export const MODAL_BUTTON_TEXT_MAX_CHARS = 24;
export const VIEW_PRIVATE_METADATA_MAX_CHARS = 3_000;
export const VIEW_CALLBACK_ID_MAX_CHARS = 255;
export const VIEW_EXTERNAL_ID_MAX_CHARS = 255;

// https://docs.slack.dev/reference/methods/views.open (`view_too_large`: "greater than 250kb")
export const VIEW_MAX_BYTES = 250_000;

// https://docs.slack.dev/reference/methods/views.push: "After a modal is opened, the app is limited
// to pushing 2 additional views", so a stack holds three views at most (`push_limit_reached`).
export const MODAL_STACK_MAX_VIEWS = 3;

// https://docs.slack.dev/tools/bolt-js/concepts/creating-modals: "Pass a valid trigger_id within
// 3 seconds of receiving it".
export const TRIGGER_ID_TTL_MS = 3_000;

// https://docs.slack.dev/interactivity/handling-user-interaction#message_responses: an app may post
// to one response_url at most 5 times, within 30 minutes of the interaction.
export const RESPONSE_URL_MAX_USES = 5;
export const RESPONSE_URL_TTL_MS = 30 * 60 * 1000;

// https://docs.slack.dev/interactivity/handling-user-interaction#acknowledgment_response: an app
// must acknowledge an interaction or command within 3 seconds, or the user sees an error.
export const ACK_TIMEOUT_MS = 3_000;
