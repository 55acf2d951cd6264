import { useMutation, useQueryClient } from '@tanstack/react-query';
import { OctagonX, Play } from 'lucide-react';
import { type FormEvent, useState } from 'react';
import { api, errorMessage } from '../api/client';
import { Dialog } from './dialog';
import { useToast } from './toasts';
import { Button, inputClass } from './ui';

interface StopAccepted {
  stop_id: string;
  action: 'emergency_stop' | 'resume';
  robots: number;
}

/**
 * Stop or resume, always behind a confirmation that names what it reaches; the reason is recorded in the
 * audit trail and the alert the stop raises.
 */
function StopDialog({
  open,
  onOpenChange,
  action,
  target,
  path,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  action: 'emergency_stop' | 'resume';
  target: string;
  path: string;
}) {
  const client = useQueryClient();
  const toast = useToast();
  const [reason, setReason] = useState('');
  const stop = action === 'emergency_stop';
  const mutation = useMutation({
    mutationFn: () =>
      api<StopAccepted>(path, { method: 'POST', body: reason.trim() ? { reason: reason.trim() } : {} }),
    onSuccess: (res) => {
      toast.push({
        tone: stop ? 'critical' : 'success',
        title: stop ? 'Emergency stop sent' : 'Resume sent',
        description: `${res.robots} robot${res.robots === 1 ? '' : 's'} addressed (stop ${res.stop_id}).`,
      });
      setReason('');
      onOpenChange(false);
      void client.invalidateQueries({ queryKey: ['robots'] });
    },
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    mutation.mutate();
  }
  return (
    <Dialog
      open={open}
      onOpenChange={(o) => {
        if (!o) mutation.reset();
        onOpenChange(o);
      }}
      title={stop ? `Emergency stop ${target}?` : `Resume ${target}?`}
      description={
        stop
          ? 'Every robot addressed halts its motion at once and stays stopped until someone resumes it.'
          : 'The robots addressed leave the emergency stop and take commands again.'
      }
    >
      <form onSubmit={submit} className="space-y-3">
        <div className="space-y-1">
          <label htmlFor="stop-reason" className="text-sm font-medium">
            Reason {stop ? '(recorded in the audit trail)' : '(optional)'}
          </label>
          <input
            id="stop-reason"
            value={reason}
            maxLength={500}
            onChange={(e) => setReason(e.target.value)}
            placeholder={stop ? 'e.g. person in the aisle' : 'e.g. aisle clear'}
            className={inputClass}
          />
        </div>
        {mutation.isError && (
          <p role="alert" className="text-sm text-red-700 dark:text-red-400">
            {errorMessage(mutation.error)}
          </p>
        )}
        <div className="flex justify-end gap-2">
          <Button onClick={() => onOpenChange(false)}>Cancel</Button>
          <Button type="submit" tone={stop ? 'danger' : 'primary'} busy={mutation.isPending}>
            {stop ? <OctagonX aria-hidden className="size-4" /> : <Play aria-hidden className="size-4" />}
            {stop ? 'Stop now' : 'Resume'}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

/** The fleet's stop (always) and resume (while any robot is stopped). */
export function FleetStopControls({ stopped }: { stopped: number }) {
  const [dialog, setDialog] = useState<'emergency_stop' | 'resume' | null>(null);
  return (
    <>
      {stopped > 0 && (
        <Button onClick={() => setDialog('resume')}>
          <Play aria-hidden className="size-4" /> Resume fleet
        </Button>
      )}
      <Button tone="danger" onClick={() => setDialog('emergency_stop')}>
        <OctagonX aria-hidden className="size-4" /> Emergency stop fleet
      </Button>
      <StopDialog
        open={dialog !== null}
        onOpenChange={(o) => !o && setDialog(null)}
        action={dialog ?? 'emergency_stop'}
        target="the whole fleet"
        path={dialog === 'resume' ? '/fleet/resume' : '/fleet/emergency-stop'}
      />
    </>
  );
}

/** One robot's stop, or its resume while it is stopped. */
export function RobotStopControls({ robotId, stopped }: { robotId: string; stopped: boolean }) {
  const [open, setOpen] = useState(false);
  const action = stopped ? 'resume' : 'emergency_stop';
  const id = encodeURIComponent(robotId);
  return (
    <>
      {stopped ? (
        <Button onClick={() => setOpen(true)}>
          <Play aria-hidden className="size-4" /> Resume
        </Button>
      ) : (
        <Button tone="danger" onClick={() => setOpen(true)}>
          <OctagonX aria-hidden className="size-4" /> Emergency stop
        </Button>
      )}
      <StopDialog
        open={open}
        onOpenChange={setOpen}
        action={action}
        target={robotId}
        path={stopped ? `/robots/${id}/resume` : `/robots/${id}/emergency-stop`}
      />
    </>
  );
}
