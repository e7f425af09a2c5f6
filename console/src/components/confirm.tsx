// A confirmation that names what it acts on ("Revoke key ci-bot?"), built on <dialog> so focus is trapped and
// Escape cancels natively.
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { errorMessage } from '../api';
import { ErrorBanner } from './ui';

export interface ConfirmProps {
  title: string;
  body: string;
  confirmLabel: string;
  danger?: boolean;
  onConfirm: () => Promise<void>;
  onClose: () => void;
}

export function ConfirmDialog(props: ConfirmProps): JSX.Element {
  const ref = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  const confirm = async (): Promise<void> => {
    setBusy(true);
    try {
      await props.onConfirm();
      ref.current?.close();
      props.onClose();
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  };
  return (
    <dialog ref={ref} aria-labelledby="confirm-title" onClose={props.onClose} class="dialog">
      <h2 id="confirm-title">{props.title}</h2>
      <p>{props.body}</p>
      <ErrorBanner error={error} />
      <div class="actions">
        <button type="button" onClick={() => ref.current?.close()}>
          Cancel
        </button>
        <button type="button" class={props.danger ? 'danger' : 'primary'} disabled={busy} onClick={() => void confirm()}>
          {props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}
