// The modal layer: the top view of the member's modal stack in a <dialog>, with Slack's title
// bar, close (✕), cancel and submit buttons. A view is redrawn only when its id or hash changes,
// so what the person typed survives live updates. Field errors from `response_action: errors`
// are written into the drawn view.
import { renderBlocks, StateCollector } from './block-kit.js';
import { renderPlainText } from './mrkdwn.js';

export class ModalLayer {
  /**
   * `host` is the element the dialog lives in; `options` has `context()` for block rendering,
   * `confirm(dialog)`, `post(path, body)`, `userId()` and `onError(text)`.
   */
  constructor(host, options) {
    this.host = host;
    this.options = options;
    this.dialog = document.createElement('dialog');
    this.dialog.className = 'modal';
    this.dialog.setAttribute('aria-labelledby', 'modal-title');
    // Escape closes the whole stack, like Slack's ✕.
    this.dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      void this.close(true);
    });
    host.append(this.dialog);
    this.key = undefined;
    this.view = undefined;
    this.collector = undefined;
    this.busy = false;
  }

  /** Shows the top of `modals` (root first), or closes the dialog when the stack is empty. */
  render(modals) {
    const top = modals.at(-1);
    if (top === undefined) {
      this.key = undefined;
      this.view = undefined;
      if (this.dialog.open) this.dialog.close();
      return;
    }
    const key = `${top.id}:${top.hash}`;
    if (key === this.key && this.dialog.open) return;
    this.key = key;
    this.view = top;
    this.draw(top, modals.length > 1, {});
    if (!this.dialog.open) this.dialog.showModal();
    this.dialog.querySelector('input, select, textarea, .modal-body button')?.focus();
  }

  /** Forgets what is drawn, for a switch to another member. */
  reset() {
    this.key = undefined;
    if (this.dialog.open) this.dialog.close();
  }

  draw(stored, pushed, errors) {
    const { view } = stored;
    this.collector = new StateCollector();
    const header = document.createElement('header');
    header.className = 'modal-header';
    if (pushed) header.append(button('←', 'modal-back', () => void this.close(false), 'Back'));
    const title = document.createElement('h2');
    title.id = 'modal-title';
    title.append(renderPlainText(view.title));
    header.append(title, button('✕', 'modal-x', () => void this.close(true), 'Close'));

    const body = renderBlocks(view.blocks, {
      ...this.options.context(),
      collector: this.collector,
      errors,
      onAction: (action) => void this.action(stored, action),
    });
    body.classList.add('modal-body');

    const footer = document.createElement('footer');
    footer.className = 'modal-footer';
    this.errorLine = document.createElement('p');
    this.errorLine.className = 'modal-error';
    this.errorLine.setAttribute('role', 'alert');
    footer.append(this.errorLine);
    footer.append(button(view.close?.text ?? 'Cancel', 'sk-button', () => void this.close(false)));
    if (view.submit) {
      this.submitButton = button(view.submit.text, 'sk-button sk-button-primary', () => void this.submit(stored));
      footer.append(this.submitButton);
    }
    const form = document.createElement('form');
    form.className = 'modal-form';
    form.method = 'dialog';
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (view.submit) void this.submit(stored);
    });
    form.append(header, body, footer);
    this.dialog.replaceChildren(form);
  }

  async submit(stored) {
    if (this.busy) return;
    // Slack's client checks required inputs itself and sends nothing while one is empty.
    const missing = this.collector.missingRequired();
    if (missing.length > 0) {
      this.showFieldErrors(Object.fromEntries(missing.map((blockId) => [blockId, 'Please complete this required field.'])));
      return;
    }
    this.busy = true;
    this.errorLine.textContent = '';
    if (this.submitButton) this.submitButton.disabled = true;
    const values = this.collector.values();
    const result = await this.options.post('/sandbox/submit', { userId: this.options.userId(), viewId: stored.id, values });
    this.busy = false;
    if (this.submitButton) this.submitButton.disabled = false;
    if (result.ok) return;
    if (result.fieldErrors) this.showFieldErrors(result.fieldErrors);
    else this.errorLine.textContent = result.error;
  }

  // Writes errors under their input blocks; an error for a block that is not an input shows in
  // the footer, since Slack would reject it.
  showFieldErrors(fieldErrors) {
    for (const group of this.dialog.querySelectorAll('.block-input')) {
      const message = fieldErrors[group.dataset.blockId];
      const line = group.querySelector('.input-error');
      line.textContent = message ?? '';
      line.hidden = message === undefined;
      group.classList.toggle('has-error', message !== undefined);
    }
    const known = new Set([...this.dialog.querySelectorAll('.block-input')].map((group) => group.dataset.blockId));
    const unknown = Object.keys(fieldErrors).filter((blockId) => !known.has(blockId));
    if (unknown.length > 0) this.errorLine.textContent = `Errors for blocks that are not inputs: ${unknown.join(', ')}`;
    this.dialog.querySelector('.has-error input, .has-error select, .has-error textarea')?.focus();
  }

  async action(stored, action) {
    const result = await this.options.post('/sandbox/action', {
      userId: this.options.userId(),
      surface: { type: 'view', viewId: stored.id },
      action,
      values: this.collector.values(),
    });
    if (!result.ok) this.errorLine.textContent = result.error;
  }

  async close(all) {
    if (this.view === undefined) return;
    const result = await this.options.post('/sandbox/close', { userId: this.options.userId(), viewId: this.view.id, all });
    if (!result.ok) this.options.onError(result.error);
  }
}

function button(text, className, onClick, label) {
  const element = document.createElement('button');
  element.type = 'button';
  element.className = className;
  element.append(renderPlainText({ text }));
  if (label) element.setAttribute('aria-label', label);
  element.addEventListener('click', onClick);
  return element;
}
