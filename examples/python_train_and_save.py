"""Train a digits classifier in Python, save it, and print its outputs for
the first 5 test images. examples/cpp/predict_digits loads the same file in
C++ and prints the same numbers:

    python examples/python_train_and_save.py out/
    build/examples/predict_digits out/digits_model.safetensors out/digits_samples.csv
"""
import os
import sys

import numpy as np

import entrena

out_dir = sys.argv[1] if len(sys.argv) > 1 else "."
os.makedirs(out_dir, exist_ok=True)
model_path = os.path.join(out_dir, "digits_model.safetensors")
samples_path = os.path.join(out_dir, "digits_samples.csv")

X, y = entrena.datasets.load_digits()
X = X / 16.0  # pixels 0..16 -> 0..1
X_train, X_test, y_train, y_test = entrena.train_test_split(X, y, test_size=0.2, seed=0)

model = entrena.Sequential([entrena.Dense(64, activation="relu"), entrena.Dense(10)], seed=0)
model.compile(loss="categorical_crossentropy", optimizer=entrena.Adam(lr=1e-3))
model.fit(X_train, y_train, epochs=20, batch_size=32, verbose=0)
print(f"test loss {model.evaluate(X_test, y_test)['loss']:.4f}")

model.save(model_path)

samples = np.ascontiguousarray(X_test[:5], dtype=np.float32)
np.savetxt(samples_path, samples, fmt="%.9g", delimiter=",")  # %.9g: float32 round-trips exactly

outputs = model.predict(samples)
print(f"model: {model_path} (entrena {entrena.__version__}, float32)")
for i, row in enumerate(outputs):
    print(f"image {i}: class {int(np.argmax(row))}, outputs " + " ".join(f"{v:.4f}" for v in row))
