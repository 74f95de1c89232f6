"""Forecasting a real time series with an LSTM: the monthly CO2 at Mauna Loa
(1958-2001, shipped with entrena), one month ahead, against the naive
forecast "next month equals this month".

The series is cut into windows of 24 months (entrena.datasets.window_series);
the first 80% of the windows train the model, the last 20% (the years
1993-2001, never seen) test it. The network reads the window's monthly
changes and predicts the next change, which it adds to the last value: it
has to learn the seasonal cycle (about ±3 ppm) and the trend.

    python examples/forecast_co2.py [--epochs 150] [--seed 0]
"""
import argparse

import numpy as np

import entrena
from entrena import callbacks as cb
from entrena.datasets import load_co2, window_series

STEPS = 24


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=150)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    t, co2 = load_co2(dtype="float64")
    change = np.diff(co2)                      # change[i] = co2[i + 1] - co2[i]
    X, y = window_series(change, STEPS)        # X: 24 changes, y: the next one
    last = co2[STEPS:-1]                       # the value each forecast starts from
    truth = co2[STEPS + 1:]                    # the value to forecast
    split = int(0.8 * len(X))
    scale = change[:split + STEPS].std()       # from the training part only
    Xs, ys = (X / scale).astype(np.float32), (y / scale).astype(np.float32)

    model = entrena.Sequential([entrena.LSTM(32), entrena.Dense(1)], input_shape=(STEPS, 1), seed=args.seed)
    model.compile(loss="mse", optimizer=entrena.Adam(lr=3e-3))
    model.summary()
    stop = cb.EarlyStopping(patience=30, restore_best_weights=True)
    model.fit(Xs[:split], ys[:split], epochs=args.epochs, batch_size=32, validation_split=0.15,
              validation_tail=True, callbacks=[stop], verbose=0, seed=args.seed)

    forecast = last[split:] + model.predict(Xs[split:])[:, 0] * scale
    naive = last[split:]
    rmse = lambda f: float(np.sqrt(np.mean((f - truth[split:]) ** 2)))  # noqa: E731
    print(f"test months: {len(naive)} ({t[STEPS + 1 + split]:.1f} to {t[-1]:.1f})")
    print(f"one-month-ahead RMSE (ppm): naive last value {rmse(naive):.3f}, LSTM {rmse(forecast):.3f}")


if __name__ == "__main__":
    main()
