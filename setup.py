"""Map the repo's folders to unique import names (see DESIGN: no bare `plugins`)."""

from setuptools import find_packages, setup

FOLDERS = {
    "course": "course",
    "course_plugins": "plugins",
    "course_animations": "animations",
    "course_book": "book",
}

packages: list[str] = []
for name, folder in FOLDERS.items():
    packages.append(name)
    packages += [f"{name}.{sub}" for sub in find_packages(folder)]

setup(packages=packages, package_dir=FOLDERS)
