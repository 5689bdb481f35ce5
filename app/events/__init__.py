"""Events: job fairs, school forums, webinars, open houses and masterclasses, their sign-ups,
reminders, attendance and candidates' interest."""
