import { cx } from '../../components/ui';
import { type RuleState, STATE_FILL, STATE_LABEL } from './servo-rules';

/**
 * Where the TonyPi's bus servos sit on the body, by id, as the robot agent numbers them
 * (packages/agent/src/servo-model.ts: 1 Left Hip, 2 Left Knee, 3 Right Hip, 4 Right Knee, 5 Head Pan,
 * 6 Head Tilt). The figure faces the viewer: the robot's left is on the right of the drawing.
 */
export const SERVO_PLACES: Readonly<Record<string, { name: string; x: number; y: number }>> = {
  '1': { name: 'Left Hip', x: 122, y: 178 },
  '2': { name: 'Left Knee', x: 124, y: 238 },
  '3': { name: 'Right Hip', x: 78, y: 178 },
  '4': { name: 'Right Knee', x: 76, y: 238 },
  '5': { name: 'Head Pan', x: 100, y: 78 },
  '6': { name: 'Head Tilt', x: 100, y: 40 },
};

export function servoName(id: string): string {
  return SERVO_PLACES[id]?.name ?? `Servo ${id}`;
}

export interface FigureServo {
  id: string;
  state: RuleState;
  temperature: string;
}

/** A front view of the humanoid with a marker per servo, coloured by its temperature's state. */
export function ServoFigure({
  servos,
  selected,
  onSelect,
}: {
  servos: readonly FigureServo[];
  selected?: string;
  onSelect: (id: string) => void;
}) {
  const placed = servos.filter((s) => SERVO_PLACES[s.id]);
  return (
    // biome-ignore lint/a11y/useSemanticElements: an SVG drawing cannot be a <fieldset>; it groups its servos
    <svg
      viewBox="0 0 200 300"
      role="group"
      aria-label="Servos on the robot's body (front view: its left on your right)"
      className="mx-auto h-auto w-full max-w-56"
    >
      <g
        className="fill-slate-200 stroke-slate-400 dark:fill-slate-800 dark:stroke-slate-600"
        strokeWidth="2"
      >
        <rect x="72" y="16" width="56" height="48" rx="14" />
        <rect x="92" y="62" width="16" height="14" />
        <rect x="64" y="76" width="72" height="92" rx="10" />
        <rect x="38" y="80" width="20" height="78" rx="9" />
        <rect x="142" y="80" width="20" height="78" rx="9" />
        <rect x="66" y="168" width="24" height="104" rx="9" />
        <rect x="110" y="168" width="24" height="104" rx="9" />
        <rect x="58" y="272" width="36" height="12" rx="4" />
        <rect x="106" y="272" width="36" height="12" rx="4" />
      </g>
      {placed.map((s) => {
        const place = SERVO_PLACES[s.id]!;
        const label = `Servo ${s.id}, ${place.name}: ${s.temperature}, ${STATE_LABEL[s.state]}`;
        const isSelected = selected === s.id;
        return (
          // biome-ignore lint/a11y/useSemanticElements: an SVG shape cannot be a <button>; it acts as one
          <g
            key={s.id}
            role="button"
            tabIndex={0}
            aria-label={label}
            aria-pressed={isSelected}
            data-testid={`figure-servo-${s.id}`}
            data-state={s.state}
            className="cursor-pointer outline-none focus-visible:[&>circle:first-child]:stroke-sky-500"
            onClick={() => onSelect(s.id)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' || e.key === ' ') {
                e.preventDefault();
                onSelect(s.id);
              }
            }}
          >
            <title>{label}</title>
            <circle
              cx={place.x}
              cy={place.y}
              r={isSelected ? 13 : 11}
              fill={STATE_FILL[s.state]}
              className={cx(
                'stroke-white dark:stroke-slate-950',
                isSelected && 'stroke-slate-900 dark:stroke-white',
              )}
              strokeWidth={isSelected ? 4 : 2}
            />
            <text
              x={place.x}
              y={place.y + 4}
              textAnchor="middle"
              fontSize="11"
              fontWeight="700"
              fill="#ffffff"
            >
              {s.id}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
